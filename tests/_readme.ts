/**
 * Reads the fenced code blocks of a Markdown file, for the README's example
 * test.
 *
 * @module
 */

/** One fenced code block. */
export interface Fence {
  /** The first word of the info string (`sh`, `ts`, `json`, `text`). */
  lang: string;
  /** Whether the info string opts the block out of running (`no-test`). */
  noTest: boolean;
  /** The words after `no-test:`, saying why. */
  reason: string;
  /** The block's text, each line ending in `\n`. */
  body: string;
  /** Line number (1-based) of the opening fence. */
  line: number;
  /** For a `text` block: whether it is the output of the `sh` block before. */
  isOutput: boolean;
  /**
   * For a `sh` block: the body of the `text` block that follows it (with only
   * blank lines, or one paragraph ending in `:`, between): what it prints.
   */
  output?: string;
}

const OPEN = /^( *)```(\S*)\s*(.*)$/;

/**
 * Splits Markdown into its fenced blocks, those indented in a list item too
 * (their indentation taken off).
 *
 * @param markdown The file's text.
 * @returns The blocks in order.
 * @example
 * ```ts
 * import { parseFences } from "./_readme.ts";
 * const fence = "`".repeat(3);
 * const markdown = `${fence}sh\necho hi\n${fence}\n\n${fence}text\nhi\n${fence}\n`;
 * const [run] = parseFences(markdown);
 * console.log(run.output); // "hi\n"
 * ```
 */
export function parseFences(markdown: string): Fence[] {
  const lines = markdown.split("\n");
  const fences: Fence[] = [];
  let lastEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const [indent, lang, rest] = [open[1], open[2], open[3]];
    let body = "";
    for (i++; i < lines.length && lines[i] !== `${indent}\`\`\``; i++) {
      body += `${
        lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i]
      }\n`;
    }
    if (i >= lines.length) {
      throw new Error(`Line ${start + 1}: the block never closes`);
    }
    const noTest = /^no-test\b/.test(rest);
    const fence: Fence = {
      lang,
      noTest,
      reason: noTest ? rest.replace(/^no-test:?/, "").trim() : "",
      body,
      line: start + 1,
      isOutput: false,
    };
    const previous = fences.at(-1);
    // Blank lines only, or one paragraph that ends in a colon ("It prints:").
    const between = lines.slice(lastEnd + 1, start).join("\n").trim();
    const adjacent = between === "" ||
      (!between.includes("\n\n") && between.endsWith(":"));
    if (lang === "text" && previous?.lang === "sh" && adjacent) {
      previous.output = body;
      fence.isOutput = true;
    }
    fences.push(fence);
    lastEnd = i;
  }
  return fences;
}
