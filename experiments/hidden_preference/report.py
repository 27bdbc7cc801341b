"""The experiment's results as InstructGPT shows them: a table in Markdown and a bar chart in SVG.

The SVG is written by hand (a few rectangles and lines) so the experiment needs no plotting package.
"""

from __future__ import annotations

from html import escape

MODELS = ("base", "sft", "ppo", "ppo_ptx", "dpo", "listwise", "best_of_n")
LABELS = {"base": "Base (bootstrap)", "sft": "SFT", "ppo": "PPO", "ppo_ptx": "PPO-ptx", "dpo": "DPO",
          "listwise": "Listwise DPO", "best_of_n": "Best-of-N"}


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x, digits=3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown_table(results: dict) -> str:
    """One row per model: gold win rate against SFT (95% CI), gold score, RM reward, KL to SFT, LM loss."""
    rows = ["| Model | Gold win rate vs SFT (95% CI) | Gold score (0–4) | Names term | Polite | In length band "
            "| RM reward | KL to SFT (nats) | LM loss on demonstrations | Training time (s) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name in MODELS:
        m = results["models"].get(name)
        if m is None:
            continue
        w = m.get("win_vs_sft")
        win = "50% (itself)" if name == "sft" else f"{_pct(w['win_rate'])} ({_pct(w['ci_low'])}–{_pct(w['ci_high'])})"
        p = m["gold"]
        rows.append(f"| {LABELS[name]} | {win} | {_num(p['gold_score'], 2)} | {_pct(p['names_term'])} | "
                    f"{_pct(p['polite'])} | {_pct(p['in_length_band'])} | {_num(m.get('rm_reward'), 2)} | "
                    f"{_num(m.get('kl_to_sft'), 2)} | {_num(m.get('demo_lm_loss'))} | "
                    f"{_num(results.get('timings_s', {}).get(name), 1)} |")
    return "\n".join(rows)


def summary_lines(results: dict) -> list[str]:
    """The targets of the issue, each with the measured figure and whether it was met."""
    t = results["targets"]
    return [f"- {name}: {text} — {'met' if ok else 'NOT met'}" for name, (text, ok) in t.items()]


def svg_win_rates(results: dict, width: int = 760, height: int = 300) -> str:
    """Bars of the gold win rate against SFT with 95% intervals, and a dashed line at 50%."""
    names = [n for n in MODELS if n in results["models"]]
    left, right, top, bottom = 60, 20, 30, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(names), 1)

    def y(v):
        return top + plot_h * (1 - v)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">'
             'Preferred over SFT by the hidden gold rule</text>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{int(tick * 100)}%</text>')
    for i, name in enumerate(names):
        m = results["models"][name]
        w = m.get("win_vs_sft") or {"win_rate": 0.5, "ci_low": 0.5, "ci_high": 0.5}
        cx = left + slot * (i + 0.5)
        bw = slot * 0.5
        parts.append(f'<rect x="{cx - bw / 2:.1f}" y="{y(w["win_rate"]):.1f}" width="{bw:.1f}" '
                     f'height="{plot_h * w["win_rate"]:.1f}" fill="{"#999" if name in ("base", "sft") else "#3b6ea8"}"/>')
        parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(w["ci_low"]):.1f}" y2="{y(w["ci_high"]):.1f}" '
                     'stroke="black" stroke-width="1.5"/>')
        for v in (w["ci_low"], w["ci_high"]):
            parts.append(f'<line x1="{cx - 6:.1f}" x2="{cx + 6:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="black"/>')
        parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 18}" text-anchor="middle">{escape(LABELS[name])}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{y(w["win_rate"]) - 6:.1f}" text-anchor="middle">'
                     f'{100 * w["win_rate"]:.0f}%</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0.5):.1f}" y2="{y(0.5):.1f}" stroke="#c33" '
                 'stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="black"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def markdown_report(results: dict) -> str:
    lines = ["# Hidden-preference RLHF experiment", "", markdown_table(results), "", "Targets:", *summary_lines(results),
             "", "Other figures:"]
    for key, value in results.get("figures", {}).items():
        lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"
