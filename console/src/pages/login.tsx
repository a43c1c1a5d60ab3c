import { useState } from 'preact/hooks';
import { login } from '../session.js';

export function LoginPage() {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div class="login">
      <form class="card login-card" onSubmit={async (e) => {
        e.preventDefault();
        const f = e.currentTarget as HTMLFormElement;
        const data = new FormData(f);
        setBusy(true);
        setError('');
        try {
          await login(String(data.get('username')), String(data.get('password')));
        } catch (err) {
          setError((err as Error).message === 'HTTP 401' ? 'Invalid username or password.' : (err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>
        <h1>Playstream</h1>
        <label>Username<input name="username" autocomplete="username" required autofocus /></label>
        <label>Password<input name="password" type="password" autocomplete="current-password" required /></label>
        {error && <div class="error" role="alert">{error}</div>}
        <button type="submit" class="btn-primary" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
      </form>
    </div>
  );
}
