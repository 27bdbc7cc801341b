/** The app shell: who is signed in, navigation by role, and the screen for the current path. */

import { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, Me } from "./api";
import { Link } from "./components/ui";
import { match, navigate, usePath } from "./router";
import { Login } from "./screens/Login";
import { LabelerHome } from "./screens/LabelerHome";
import { RankingScreen } from "./screens/RankingScreen";
import { DemonstrationScreen } from "./screens/DemonstrationScreen";
import { History } from "./screens/History";
import { PromptImport } from "./screens/PromptImport";
import { Guidelines } from "./screens/Guidelines";
import { Review } from "./screens/Review";
import { Dashboard } from "./screens/Dashboard";
import { Quality } from "./screens/Quality";
import { Jobs } from "./screens/Jobs";
import { JobDetail } from "./screens/JobDetail";
import { Snapshots } from "./screens/Snapshots";
import { Models } from "./screens/Models";
import { Evaluation } from "./screens/Evaluation";

interface Route {
  pattern: string;
  roles: string[];
  title: string;
  nav?: boolean;
  view: (params: Record<string, string>, me: Me) => ComponentChildren;
}

const LABELER = "labeler";
const ADMIN = "admin";
const ML = "ml_engineer";

/** Only ML engineers launch and cancel jobs and freeze snapshots; admins see them read-only (as the API enforces). */
function canLaunch(me: Me) {
  return me.roles.includes(ML);
}

export const ROUTES: Route[] = [
  { pattern: "/work", roles: [LABELER], title: "Work", nav: true, view: () => <LabelerHome /> },
  { pattern: "/work/ranking/:id", roles: [LABELER], title: "Rank answers", view: (p) => <RankingScreen assignmentId={Number(p.id)} /> },
  { pattern: "/work/demonstration/:id", roles: [LABELER], title: "Write a demonstration", view: (p) => <DemonstrationScreen assignmentId={Number(p.id)} /> },
  { pattern: "/history", roles: [LABELER], title: "My history", nav: true, view: (_, me) => <History me={me} /> },
  { pattern: "/manage/dashboard", roles: [ADMIN], title: "Progress", nav: true, view: () => <Dashboard /> },
  { pattern: "/manage/quality", roles: [ADMIN], title: "Quality", nav: true, view: () => <Quality /> },
  { pattern: "/manage/guidelines", roles: [ADMIN], title: "Guidelines", nav: true, view: () => <Guidelines /> },
  { pattern: "/manage/import", roles: [ADMIN], title: "Import prompts", nav: true, view: () => <PromptImport /> },
  { pattern: "/manage/review", roles: [ADMIN], title: "Review", nav: true, view: () => <Review /> },
  { pattern: "/ml/jobs", roles: [ML, ADMIN], title: "Jobs", nav: true, view: (_, me) => <Jobs canLaunch={canLaunch(me)} /> },
  { pattern: "/ml/jobs/:id", roles: [ML, ADMIN], title: "Job", view: (p, me) => <JobDetail id={Number(p.id)} canCancel={canLaunch(me)} /> },
  { pattern: "/ml/snapshots", roles: [ML, ADMIN], title: "Datasets", nav: true, view: (_, me) => <Snapshots canFreeze={canLaunch(me)} /> },
  { pattern: "/ml/models", roles: [ML, ADMIN], title: "Models", nav: true, view: () => <Models /> },
  { pattern: "/ml/evaluation", roles: [ML, ADMIN], title: "Evaluation", nav: true, view: () => <Evaluation /> },
];

export function homeFor(me: Me): string {
  if (me.roles.includes(LABELER)) return "/work";
  if (me.roles.includes(ADMIN)) return "/manage/dashboard";
  if (me.roles.includes(ML)) return "/ml/jobs";
  return "/nothing";
}

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);

  useEffect(() => {
    api.get<Me>("/api/auth/me/").then(setMe).catch(() => setMe(null));
  }, []);

  useEffect(() => {
    if (me === null && path !== "/login") navigate(`/login?next=${encodeURIComponent(path)}`, true);
    if (me && (path === "/" || path === "/login")) navigate(homeFor(me), true);
  }, [me, path]);

  if (me === undefined) return <p class="muted page">Loading…</p>;
  if (me === null) return <Login onLogin={(user) => { setMe(user); navigate(nextPath() ?? homeFor(user), true); }} />;

  const allowed = ROUTES.filter((r) => r.roles.some((role) => me.roles.includes(role)));
  let screen: ComponentChildren = null;
  let title = "Not found";
  for (const r of ROUTES) {
    const params = match(r.pattern, path);
    if (!params) continue;
    title = r.title;
    screen = allowed.includes(r) ? r.view(params, me) : <p role="alert">Your roles ({me.roles.join(", ") || "none"}) do not give access to this page.</p>;
    break;
  }
  if (screen === null) screen = me.roles.length ? <p>No page here. <Link href={homeFor(me)}>Go to your start page</Link>.</p> : <p>Your account has no role yet; ask an admin to give you one.</p>;

  return (
    <div class="shell">
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="topbar">
        <strong class="brand">RLHF platform</strong>
        <nav aria-label="Main">
          {allowed.filter((r) => r.nav).map((r) => (
            <Link href={r.pattern} current={path === r.pattern || path.startsWith(`${r.pattern}/`)}>{r.title}</Link>
          ))}
        </nav>
        <span class="user">
          <span>{me.username}</span>
          <button type="button" class="link-button" onClick={async () => { await api.post("/api/auth/logout/").catch(() => null); setMe(null); navigate("/login", true); }}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1} aria-label={title}>{screen}</main>
    </div>
  );
}

function nextPath(): string | null {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") && next !== "/login" && next !== "/" ? next : null;
}
