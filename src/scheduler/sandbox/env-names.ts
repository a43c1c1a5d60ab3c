/**
 * Environment variable names a user-supplied value (an scm source's source_vars, a custom
 * credential type's env injector) may not set, because they change which code runs or where
 * programs find their configuration:
 * - loaders and interpreters: LD_*, DYLD_*, GCONV_PATH, PYTHON*, PERL*, RUBY*, NODE_*,
 *   BASH_ENV, ENV, BASH_FUNC_*, SHELLOPTS, PS4, IFS, OPENSSL_CONF/ENGINES/MODULES;
 * - ANSIBLE_* (ANSIBLE_CONFIG, plugin and library paths, vault password scripts), which AWX
 *   refuses in credential types' environment for the same reason;
 * - GIT_*, SSH_*, and names AWX and Playstream use for jobs (AWX_*, PLAYSTREAM_*, RUNNER_*).
 */
const REFUSED_EXACT = new Set(['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'IFS', 'CDPATH', 'GLOBIGNORE', 'PROMPT_COMMAND',
  'GCONV_PATH', 'LOCPATH', 'NLSPATH', 'HOSTALIASES', 'OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES', 'TMPDIR', 'SHELL']);
const REFUSED_PREFIX = /^(LD_|DYLD_|PYTHON|PERL|RUBY|NODE_|BASH_FUNC_|ANSIBLE_|GIT_|SSH_|AWX_|PLAYSTREAM_|RUNNER_|MALLOC_|GLIBC_)/;

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isSandboxSensitiveEnvName(name: string): boolean {
  return REFUSED_EXACT.has(name) || REFUSED_PREFIX.test(name);
}
