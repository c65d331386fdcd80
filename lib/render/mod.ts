/**
 * Turning raw PTY output into text for agents: the rendered text of a
 * session's output, the current screen, a streaming escape-sequence filter and
 * middle truncation to a byte budget.
 *
 * @example
 * ```ts
 * import { renderText, truncateMiddle } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const output = new TextEncoder().encode("building\r\n50%\r100%\r\n");
 * const { text } = truncateMiddle(await renderText(output), 4096);
 * assert.equal(text, "building\n100%\n");
 * ```
 *
 * @module
 */

export {
  preloadRenderer,
  renderText,
  type RenderTextOptions,
} from "./terminal_text.ts";
export {
  formatScreen,
  renderScreen,
  type RenderScreenOptions,
  type Screen,
} from "./screen.ts";
export { AnsiStripper } from "./ansi_strip.ts";
export { truncateMiddle, type TruncateResult } from "./truncate.ts";
