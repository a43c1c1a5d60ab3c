import { useEffect } from 'preact/hooks';
import { ActivityStreamPage } from './pages/activity-stream.js';
import { AdHocPage } from './pages/ad-hoc.js';
import { CredentialTypeDetailPage, CredentialTypesPage } from './pages/credential-types.js';
import { DashboardPage } from './pages/dashboard.js';
import { JobDetailPage } from './pages/job-detail.js';
import { JobsPage } from './pages/jobs.js';
import { LaunchPage } from './pages/launch.js';
import { LoginPage } from './pages/login.js';
import { SettingsPage } from './pages/settings.js';
import { RESOURCES, ResourceDetailPage, ResourceListPage } from './pages/resources.js';
import { TemplateDetailPage, TemplatesPage } from './pages/templates.js';
import { TemplateFormPage } from './pages/template-form.js';
import { SurveyEditorPage } from './pages/survey-editor.js';
import { ScheduleBuilderPage } from './pages/schedule-builder.js';
import { HolderRolesPage } from './pages/roles.js';
import { LagPage } from './lag/lag-page.js';
import { ApprovalsPage } from './workflow/approvals.js';
import { WorkflowJobPage } from './workflow/workflow-job.js';
import { WorkflowTemplateDetailPage, WorkflowTemplatesPage } from './workflow/workflow-templates.js';
import { currentPath, Link, matchRoute, navigate } from './router.js';
import { loadMe, logout, me } from './session.js';
import { liveSocket, wsState } from './ws.js';

/** The shell: who am I, the navigation, and the page the path names. */
export function App() {
  useEffect(() => { void loadMe(); }, []);
  const user = me.value;
  if (user === undefined) return <div class="splash">Loading…</div>;
  if (user === null) return <LoginPage />;
  const path = currentPath();
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/home" class="brand">Playstream</Link>
        <span class={`ws-dot ws-${wsState.value}`} title={`live updates: ${wsState.value}`} />
        <span class="spacer" />
        <span class="whoami" data-testid="whoami">{user.username}{user.is_superuser ? ' (admin)' : ''}</span>
        <button type="button" class="btn-small" onClick={() => { liveSocket.stop(); void logout().then(() => navigate('/')); }}>Log out</button>
      </header>
      <nav class="sidebar">
        <div class="nav-group">Views</div>
        <NavLink href="/home" label="Dashboard" path={path} />
        <NavLink href="/jobs" label="Jobs" path={path} />
        <NavLink href="/templates" label="Templates" path={path} />
        <NavLink href="/workflow_templates" label="Workflows" path={path} />
        <NavLink href="/approvals" label="Approvals" path={path} />
        <NavLink href="/lag" label="Lag dashboard" path={path} />
        {(user.is_superuser || user.is_system_auditor) && <NavLink href="/activity_stream" label="Activity stream" path={path} />}
        <div class="nav-group">Resources</div>
        {RESOURCES.filter((r) => r.nav && (!r.adminOnly || user.is_superuser || user.is_system_auditor)).map((r) => (
          <NavLink key={r.key} href={`/${r.key}`} label={r.title} path={path} />
        ))}
        <NavLink href="/credential_types" label="Credential types" path={path} />
        <div class="nav-group">Administration</div>
        {(user.is_superuser || user.is_system_auditor) && <NavLink href="/settings" label="Settings" path={path} />}
      </nav>
      <main class="content">{route(path)}</main>
    </div>
  );
}

/** Replaces the URL after render (a signal written during render would re-enter it). */
function Redirect(props: { to: string }) {
  useEffect(() => navigate(props.to, true), [props.to]);
  return null;
}

function NavLink(props: { href: string; label: string; path: string }) {
  const active = props.path === props.href || props.path.startsWith(props.href + '/');
  return <Link href={props.href} class={active ? 'active' : ''}>{props.label}</Link>;
}

function route(path: string) {
  let m: Record<string, string> | undefined;
  if (path === '/' || path === '/login') return <Redirect to="/home" />;
  if (path === '/home') return <DashboardPage />;
  if (path === '/activity_stream') return <ActivityStreamPage />;
  if (path === '/credential_types') return <CredentialTypesPage />;
  if ((m = matchRoute('/credential_types/:id', path))) return <CredentialTypeDetailPage key={m.id} id={Number(m.id)} />;
  if (path === '/settings') return <SettingsPage />;
  if ((m = matchRoute('/settings/:slug', path))) return <SettingsPage slug={m.slug} />;
  if ((m = matchRoute('/inventories/:id/ad_hoc', path))) return <AdHocPage key={m.id} inventoryId={Number(m.id)} />;
  if (path === '/jobs') return <JobsPage />;
  if ((m = matchRoute('/jobs/workflow_job/:id', path)) || (m = matchRoute('/jobs/workflow_job/:id/:tab', path))) {
    return <WorkflowJobPage key={m.id} id={Number(m.id)} />;
  }
  if ((m = matchRoute('/jobs/:kind/:id/:tab', path)) || (m = matchRoute('/jobs/:kind/:id', path))) {
    return <JobDetailPage key={`${m.kind}-${m.id}`} kind={m.kind} id={Number(m.id)} tab={m.tab ?? 'output'} />;
  }
  if ((m = matchRoute('/jobs/:id', path))) return <Redirect to={`/jobs/job/${m.id}/output`} />;
  if (path === '/templates') return <TemplatesPage />;
  if (path === '/templates/job_template/new') return <TemplateFormPage />;
  if ((m = matchRoute('/templates/job_template/:id/edit', path))) return <TemplateFormPage key={m.id} id={Number(m.id)} />;
  if ((m = matchRoute('/templates/job_template/:id/survey', path))) return <SurveyEditorPage key={m.id} id={Number(m.id)} />;
  if ((m = matchRoute('/templates/job_template/:id/schedules/new', path))) return <ScheduleBuilderPage key={m.id} templateId={Number(m.id)} />;
  if ((m = matchRoute('/:kind/:id/roles', path)) && (m.kind === 'users' || m.kind === 'teams')) {
    return <HolderRolesPage key={path} kind={m.kind} id={Number(m.id)} />;
  }
  if ((m = matchRoute('/templates/job_template/:id/launch', path))) return <LaunchPage key={m.id} id={Number(m.id)} />;
  if ((m = matchRoute('/templates/job_template/:id', path))) return <TemplateDetailPage key={m.id} id={Number(m.id)} />;
  if (path === '/workflow_templates') return <WorkflowTemplatesPage />;
  if ((m = matchRoute('/templates/workflow_job_template/:id/launch', path))) {
    return <LaunchPage key={`w${m.id}`} id={Number(m.id)} kind="workflow_job_template" />;
  }
  if ((m = matchRoute('/templates/workflow_job_template/:id', path))) return <WorkflowTemplateDetailPage key={m.id} id={Number(m.id)} />;
  if (path === '/approvals') return <ApprovalsPage />;
  if (path === '/lag') return <LagPage />;
  for (const r of RESOURCES) {
    if (path === `/${r.key}`) return <ResourceListPage key={r.key} resource={r} />;
    if ((m = matchRoute(`/${r.key}/:id`, path))) return <ResourceDetailPage key={`${r.key}-${m.id}`} resource={r} id={Number(m.id)} />;
  }
  return <div class="card"><h1>Not found</h1><p>No page at {path}.</p></div>;
}
