// What every browser test checks on a page: no console error, page error or CSP violation (Chromium reports
// violations on the console), nothing wider than the window, no control off screen; and a screenshot of
// each screen kept as a test artifact.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";

/** Where screenshots go (ignored by git; CI keeps the folder as an artifact). */
export const ARTIFACTS = resolve(import.meta.dirname, "../e2e-artifacts");

/** Phone and desktop windows the screens are checked at. */
export const VIEWPORTS = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

/** A page that records every console error, page error and CSP violation, so a test can require none. */
export async function newPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("dialog", (d) => void d.accept());
  return { page, problems };
}

/**
 * What spills out on this page: the document wider than the window, any box whose content is wider than
 * the box (`scrollWidth > clientWidth`, for boxes that do not scroll or clip on purpose), and any visible
 * control not wholly inside the window's width. Empty when the layout fits.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const root = document.documentElement;
    const width = root.clientWidth;
    const name = (el: Element): string => {
      const id = el.getAttribute("data-testid");
      const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
      const text = (el.textContent ?? "").trim().slice(0, 30);
      return `<${el.tagName.toLowerCase()}${id ? ` data-testid="${id}"` : ""}${cls ? ` class="${cls}"` : ""}> “${text}”`;
    };
    if (root.scrollWidth > root.clientWidth) {
      // Name what reaches past the window's right edge (an absolutely placed box is no parent's overflow).
      const past = [...document.body.querySelectorAll("*")].filter((el) => el.getBoundingClientRect().right > width + 0.5 && ![...el.children].some((c) => c.getBoundingClientRect().right > width + 0.5));
      out.push(`the page is ${root.scrollWidth} px wide in a window of ${root.clientWidth} px: ${past.slice(0, 3).map(name).join(", ")}`);
    }
    const visible = (el: HTMLElement): boolean => {
      if (el.closest("[hidden], .visually-hidden")) return false;
      // Inside a box clipped away for screen readers only (a table's header on a phone).
      for (let up = el.parentElement; up; up = up.parentElement) if (getComputedStyle(up).clipPath !== "none") return false;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden" || style.display === "none") return false;
      const rect = el.getBoundingClientRect();
      return rect.width > 0 && rect.height > 0;
    };
    for (const el of document.body.querySelectorAll<HTMLElement>("*")) {
      if (!visible(el)) continue;
      const style = getComputedStyle(el);
      const tag = el.tagName.toLowerCase();
      // Form controls scroll their own text; boxes that scroll or clip do so on purpose.
      const ownScroll = ["input", "textarea", "select"].includes(tag) || style.overflowX !== "visible" || style.display === "inline";
      if (!ownScroll && el.scrollWidth > el.clientWidth) out.push(`${name(el)} holds ${el.scrollWidth} px in ${el.clientWidth} px`);
      const control = ["button", "a", "input", "select", "textarea", "summary"].includes(tag) || el.matches("label.button");
      if (control) {
        const rect = el.getBoundingClientRect();
        if (rect.left < 0 || rect.right > width + 0.5) out.push(`${name(el)} is off screen (${Math.round(rect.left)}…${Math.round(rect.right)} px of ${width} px)`);
      }
    }
    return out;
  });
}

/** A full-page screenshot in `ARTIFACTS/<folder>/<name>.png`. */
export async function screenshot(page: Page, folder: string, name: string): Promise<void> {
  const dir = join(ARTIFACTS, folder);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** axe-core's script, run in the page through the debugging protocol (the page's CSP does not apply to it). */
const AXE_SOURCE = (createRequire(import.meta.url)("axe-core") as { source: string }).source;

/** An automated accessibility audit (axe-core, WCAG 2.x A and AA rules): the serious and critical findings. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }, resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.failureSummary ?? ""}`.slice(0, 300)) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 4).join(" | ")}`);
}
