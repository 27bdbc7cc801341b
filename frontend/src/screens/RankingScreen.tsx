/**
 * Rank K answers best to worst. Keyboard: Tab or the arrow keys select an answer, a digit gives it
 * that rank (the same digit on two answers is a tie), 0 or Backspace clears it. Mouse: drag answers
 * in "Your ranking". Per answer: a 1–7 score and flags. The draft is kept in localStorage.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { Errors, useApi, ApiState } from "../components/ui";
import { useDraft } from "../components/useDraft";
import { DoneNotice, GuidelinePanel, newIdempotencyKey, PromptView, SkipForm } from "../components/workParts";
import { continueWork, labeling, WorkItem } from "../labelingApi";
import { clearDraft } from "../logic/draft";
import { errorsFor, FieldErrors, otherErrors } from "../logic/errors";
import {
  AnswerMarks, assignRank, emptyRanks, FLAGS, isComplete, moveTo, normalise, orderByRank, pairCount, rankFromKey, rankingEntries, Ranks, tiedIds,
} from "../logic/ranking";

interface Draft {
  ranks: Ranks;
  marks: Record<number, AnswerMarks>;
  allBad: boolean;
  unrankable?: boolean;
  comment?: string;
  startedAt: number;
  key: string;
}

const letter = (i: number) => String.fromCharCode(65 + i);

export function RankingScreen(props: { assignmentId: number }) {
  const { data: item, error, loading } = useApi(() => labeling.assignment(props.assignmentId), [props.assignmentId]);
  // Until the new task has loaded, the previous one (already submitted) must not stay on screen under
  // the new task's address, with Submit enabled (issue 13, defect 5).
  if (!item || item.assignmentId !== props.assignmentId) return <ApiState error={error} loading={loading || Boolean(item)} />;
  return <RankingForm item={item} key={item.assignmentId} />;
}

function RankingForm({ item }: { item: WorkItem }) {
  const ids = item.responses.map((r) => r.id);
  const k = ids.length;
  const [draft, updateDraft] = useDraft<Draft>(item.assignmentId, () => ({
    ranks: emptyRanks(ids), marks: {}, allBad: false, startedAt: Date.now(), key: newIdempotencyKey(),
  }));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [dragged, setDragged] = useState<number | null>(null);
  const cards = useRef<(HTMLElement | null)[]>([]);
  // Ready to rank at once: the first answer has the focus (digits rank it, ↓ moves on).
  useEffect(() => { cards.current[0]?.focus(); }, []);
  const submitRef = useRef<() => void>(() => undefined);
  useShortcuts(() => submitRef.current());

  const update = (change: Partial<Draft>) => updateDraft((d) => ({ ...d, ...change }));
  const setRank = (id: number, rank: number | null) => updateDraft((d) => ({ ...d, ranks: assignRank(d.ranks, id, rank, k) }));
  const setMarks = (id: number, change: Partial<AnswerMarks>) =>
    updateDraft((d) => ({ ...d, marks: { ...d.marks, [id]: { ...(d.marks[id] ?? { score: null, flags: [] }), ...change } } }));

  const onCardKey = (e: KeyboardEvent, index: number) => {
    const target = e.target as HTMLElement;
    if (target !== e.currentTarget) return; // typing inside a select or checkbox of the card
    const rank = rankFromKey(e.key, k);
    if (rank !== null) { e.preventDefault(); setRank(ids[index], rank); return; }
    if (e.key === "0" || e.key === "Backspace" || e.key === "Delete") { e.preventDefault(); setRank(ids[index], null); return; }
    const step = e.key === "ArrowDown" || e.key === "j" ? 1 : e.key === "ArrowUp" || e.key === "k" ? -1 : 0;
    if (step) { e.preventDefault(); cards.current[(index + step + k) % k]?.focus(); }
  };

  const submit = async () => {
    setErrors({});
    if (!draft.unrankable && !isComplete(draft.ranks)) {
      setErrors({ ranks: ["Give every answer a rank (select it and press a digit)."] });
      return;
    }
    setBusy(true);
    try {
      const ranked = isComplete(draft.ranks) ? rankingEntries(ids, draft.ranks, draft.marks) : [];
      await labeling.submitRanking(item.assignmentId, {
        ranks: ranked,
        all_bad: draft.allBad,
        unrankable: Boolean(draft.unrankable),
        comment: draft.comment ?? "",
        seconds_spent: Math.round((Date.now() - draft.startedAt) / 1000),
        idempotency_key: draft.key,
      });
      clearDraft(localStorage, item.assignmentId);
      await continueWork("ranking", "ranking");
    } catch (err) {
      setErrors(err instanceof ApiError ? err.fields : { "": [String(err)] });
    } finally {
      setBusy(false);
    }
  };

  const skip = async (reason: string) => {
    try {
      await labeling.skip(item.assignmentId, reason);
      clearDraft(localStorage, item.assignmentId);
      await continueWork("ranking", "skip");
    } catch (err) {
      setErrors(err instanceof ApiError ? err.fields : { "": [String(err)] });
    }
  };

  submitRef.current = () => { if (!busy) submit(); };
  const ranks = normalise(draft.ranks);
  const ties = tiedIds(draft.ranks);
  const ordered = orderByRank(ids, draft.ranks);
  const letterOf = (id: number) => letter(ids.indexOf(id));
  // The badge and "Your ranking" show the rank the labeler chose, as the select does (issue 13, defect 6).
  const chosen = (id: number): number | null => draft.ranks[id] ?? null;
  const answerErrors = (i: number) => errorsFor(errors, `ranks.${i}`).concat(errorsFor(errors, `responses.${ids[i]}`));

  return (
    <div class="work-layout">
      <div class="work-main">
        <h1>Rank the answers</h1>
        <DoneNotice />
        {item.leaseExpiresAt ? <p class="muted">Reserved for you until {new Date(item.leaseExpiresAt).toLocaleTimeString()}.</p> : null}
        <Errors messages={otherErrors(errors, ["ranks", "responses", "reason", "all_bad", "unrankable", "comment"])} />
        <PromptView messages={item.messages} />
        <ShortcutLegend k={k} />
        <p class="hint" id="rank-help">
          Select an answer (Tab or ↑/↓) and press a digit 1–{k} to give it that rank; 1 is best. The same digit on two
          answers is a tie. 0 clears a rank. You can also drag answers in “Your ranking”, or move them there with Alt+↑/↓.
        </p>
        <ol class="answers" aria-label="Answers">
          {item.responses.map((r, i) => {
            const marks = draft.marks[r.id] ?? { score: null, flags: [] };
            const rank = ranks[r.id];
            return (
              <li>
                <article
                  class={`answer${rank ? " ranked" : ""}${ties.has(r.id) ? " tied" : ""}`}
                  tabIndex={0}
                  ref={(el) => { cards.current[i] = el; }}
                  data-testid={`answer-${r.id}`}
                  aria-describedby="rank-help"
                  aria-label={`Answer ${letter(i)}, ${rank ? `rank ${rank}${ties.has(r.id) ? " (tie)" : ""}` : "not ranked"}`}
                  onKeyDown={(e) => onCardKey(e, i)}
                >
                  <header>
                    <span class="answer-letter">Answer {letter(i)}</span>
                    <span class="rank-badge" data-testid="rank-badge">{chosen(r.id) ? `Rank ${chosen(r.id)}${ties.has(r.id) ? " (tie)" : ""}` : "Unranked"}</span>
                  </header>
                  <p class="text">{r.text}</p>
                  <div class="marks">
                    <label>
                      Rank
                      <select value={draft.ranks[r.id] ?? ""} onChange={(e) => setRank(r.id, e.currentTarget.value ? Number(e.currentTarget.value) : null)}>
                        <option value="">—</option>
                        {ids.map((_, n) => <option value={n + 1}>{n + 1}</option>)}
                      </select>
                    </label>
                    <label>
                      Score (1–7)
                      <select value={marks.score ?? ""} onChange={(e) => setMarks(r.id, { score: e.currentTarget.value ? Number(e.currentTarget.value) : null })}>
                        <option value="">—</option>
                        {[1, 2, 3, 4, 5, 6, 7].map((n) => <option value={n}>{n}</option>)}
                      </select>
                    </label>
                    <fieldset class="flags">
                      <legend>Flags</legend>
                      {FLAGS.map((f) => (
                        <label class="check">
                          <input type="checkbox" checked={marks.flags.includes(f.value)}
                            onChange={(e) => setMarks(r.id, { flags: e.currentTarget.checked ? [...marks.flags, f.value] : marks.flags.filter((x) => x !== f.value) })} />
                          {f.label}
                        </label>
                      ))}
                    </fieldset>
                  </div>
                  <Errors messages={answerErrors(i)} />
                </article>
              </li>
            );
          })}
        </ol>
      </div>
      <div class="work-side">
        <GuidelinePanel guideline={item.guideline} />
        <section class="card" aria-labelledby="order-title">
          <h2 id="order-title">Your ranking</h2>
          <ol class="order" data-testid="order">
            {ordered.map((id, index) => (
              <li
                draggable
                class={`chip${dragged === id ? " dragging" : ""}`}
                onDragStart={(e) => { setDragged(id); e.dataTransfer?.setData("text/plain", String(id)); }}
                onDragEnd={() => setDragged(null)}
                onDragOver={(e) => e.preventDefault()}
                onDrop={(e) => {
                  e.preventDefault();
                  const moved = Number(e.dataTransfer?.getData("text/plain") || dragged);
                  if (moved) update({ ranks: moveTo(ids, draft.ranks, moved, index) });
                  setDragged(null);
                }}
                data-testid={`order-${id}`}
                tabIndex={0}
                aria-label={`Answer ${letterOf(id)}, ${ranks[id] ? `rank ${ranks[id]}` : "not ranked"}. Alt+↑/↓ moves it.`}
                onKeyDown={(e) => {
                  const step = e.altKey && e.key === "ArrowUp" ? -1 : e.altKey && e.key === "ArrowDown" ? 1 : 0;
                  if (!step) return;
                  e.preventDefault();
                  update({ ranks: moveTo(ids, draft.ranks, id, Math.max(0, index + step)) });
                  const list = (e.currentTarget as HTMLElement).parentElement;
                  requestAnimationFrame(() => (list?.children[Math.max(0, Math.min(k - 1, index + step))] as HTMLElement | undefined)?.focus());
                }}
              >
                <span class="chip-rank">{chosen(id) ?? "–"}</span> Answer {letterOf(id)}
                {ties.has(id) ? <span class="tie"> tie</span> : null}
              </li>
            ))}
          </ol>
          <p class="muted">{isComplete(draft.ranks) ? `${pairCount(draft.ranks)} comparison pairs` : `${Object.values(draft.ranks).filter((r) => r === null).length} answers left to rank`}</p>
          <Errors messages={errorsFor(errors, "ranks")} id="ranks-errors" />
          <label class="check">
            <input type="checkbox" checked={draft.allBad} onChange={(e) => update({ allBad: e.currentTarget.checked })} />
            All answers are bad
          </label>
          <label class="check">
            <input type="checkbox" checked={Boolean(draft.unrankable)} onChange={(e) => update({ unrankable: e.currentTarget.checked })} />
            The prompt cannot be ranked
          </label>
          <Errors messages={errorsFor(errors, "all_bad").concat(errorsFor(errors, "unrankable"))} />
          <label for="ranking-comment">Comment (optional)</label>
          <textarea id="ranking-comment" rows={2} value={draft.comment ?? ""} onInput={(e) => update({ comment: e.currentTarget.value })} />
          <Errors messages={errorsFor(errors, "comment")} />
          <div class="row">
            <button type="button" onClick={submit} disabled={busy} data-testid="submit">Submit ranking</button>
          </div>
          <SkipForm onSkip={skip} errors={errorsFor(errors, "reason")} />
        </section>
      </div>
    </div>
  );
}

/** Ctrl+Enter (⌘+Enter) submits; Alt+S opens the skip form. */
function useShortcuts(onSubmit: () => void) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); onSubmit(); }
      else if (e.altKey && (e.key === "s" || e.key === "S" || e.code === "KeyS")) {
        e.preventDefault();
        (document.getElementById("skip-open") as HTMLButtonElement | null)?.click();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}

function ShortcutLegend(props: { k: number }) {
  return (
    <details class="legend" data-testid="shortcut-legend">
      <summary>Keyboard shortcuts</summary>
      <dl>
        <dt>↑ / ↓ (or k / j)</dt><dd>select the previous / next answer</dd>
        <dt>1 – {props.k}</dt><dd>give the selected answer that rank (the same digit twice is a tie)</dd>
        <dt>0 or Backspace</dt><dd>clear its rank</dd>
        <dt>Ctrl + Enter</dt><dd>submit the ranking</dd>
        <dt>Alt + S</dt><dd>skip this task (you give a reason)</dd>
      </dl>
    </details>
  );
}
