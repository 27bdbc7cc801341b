import { useState } from "preact/hooks";
import { api, ApiError, Me } from "../api";
import { Errors } from "../components/ui";
import { errorsFor, FieldErrors } from "../logic/errors";

export function Login(props: { onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.get("/api/auth/me/").catch(() => null); // makes sure the CSRF cookie is set
      const me = await api.post<Me>("/api/auth/login/", { username, password });
      props.onLogin(me);
    } catch (err) {
      setErrors(err instanceof ApiError ? err.fields : { "": [String(err)] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login" id="main">
      <form onSubmit={submit} aria-labelledby="login-title" class="card">
        <h1 id="login-title">Sign in</h1>
        <Errors messages={errors[""]} />
        <label for="username">Username</label>
        <input id="username" name="username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autoFocus />
        <Errors messages={errorsFor(errors, "username")} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        <Errors messages={errorsFor(errors, "password")} />
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}
