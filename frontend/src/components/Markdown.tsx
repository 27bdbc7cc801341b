/**
 * Guideline text is Markdown. It is rendered with `marked` (GitHub-flavoured Markdown) and the HTML
 * it makes is sanitised by DOMPurify before it reaches the page, so a guideline can format text but
 * never run script (a raw <script>, an onerror attribute or a javascript: link is removed).
 */

import DOMPurify from "dompurify";
import { marked } from "marked";

export function markdownToSafeHtml(source: string): string {
  const html = marked.parse(source, { async: false, gfm: true, breaks: true }) as string;
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

export function Markdown(props: { source: string; class?: string; testId?: string }) {
  return <div class={props.class ?? "markdown"} data-testid={props.testId} dangerouslySetInnerHTML={{ __html: markdownToSafeHtml(props.source) }} />;
}
