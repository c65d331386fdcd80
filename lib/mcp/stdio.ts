/**
 * The MCP server's stdio transport, on Deno's own stdin and stdout.
 *
 * The SDK's `StdioServerTransport` reads through Node's `process.stdin`,
 * which under Deno allocates and zero-fills a 64 KiB buffer for every read
 * and hands each chunk through Node's stream machinery: about a tenth of a
 * millisecond of a `run` call that takes two. This one reads into one
 * buffer it keeps, and writes each message with one system call where the
 * pipe takes it whole. Messages are checked as the SDK's transport checks
 * them (`deserializeMessage`): the model behind the client is untrusted.
 *
 * @module
 */
import {
  deserializeMessage,
  serializeMessage,
  STDIO_DEFAULT_MAX_BUFFER_SIZE,
} from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { startTimer } from "../timer.ts";

/** What the transport reads from and writes to; Deno's stdio by default. */
export interface StdioStreams {
  /** Where messages come from, a line each. */
  input: { read(buffer: Uint8Array): Promise<number | null> };
  /** Where messages go; each call may take only part of what it is given. */
  output: { writeSync(data: Uint8Array): number };
}

const LF = 0x0a;
const CR = 0x0d;
const READ_SIZE = 64 * 1024;

/**
 * How long the replies to requests read before the input ended may still
 * go out: an answer at hand (`initialize` piped in, say) is not lost, and
 * a long call does not keep a server whose client has gone.
 */
export const END_GRACE_MS = 500;

/**
 * An MCP transport that speaks newline-delimited JSON-RPC on stdin and
 * stdout, as the SDK's `StdioServerTransport` does, and closes itself when
 * its input ends, once the requests read are answered (or
 * {@linkcode END_GRACE_MS} later).
 *
 * @example
 * ```ts ignore
 * import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
 * import { StdinTransport } from "./stdio.ts";
 * const server = new McpServer({ name: "demo", version: "1.0.0" });
 * await server.connect(new StdinTransport());
 * ```
 */
export class StdinTransport implements Transport {
  /** Called with each message read. */
  onmessage?: (message: JSONRPCMessage) => void;
  /** Called once the transport has closed. */
  onclose?: () => void;
  /** Called with a line that is no message, or a failed read. */
  onerror?: (error: Error) => void;
  #streams: StdioStreams;
  #maxLine: number;
  #pending: Uint8Array[] = [];
  #pendingSize = 0;
  #closed = false;
  /** Ids of the requests read and not yet answered. */
  #unanswered = new Set<string | number>();
  #inputEnded = false;
  #cancelGrace = () => {};
  #decoder = new TextDecoder();
  #encoder = new TextEncoder();

  /**
   * @param streams Input and output; Deno's stdin and stdout by default.
   * @param maxLine Longest message accepted, in bytes; a longer one closes
   * the transport, as the SDK's does.
   */
  constructor(
    streams: StdioStreams = { input: Deno.stdin, output: Deno.stdout },
    maxLine = STDIO_DEFAULT_MAX_BUFFER_SIZE,
  ) {
    this.#streams = streams;
    this.#maxLine = maxLine;
  }

  /** Starts reading; messages go to `onmessage` until the input ends. */
  start(): Promise<void> {
    void this.#readLoop();
    return Promise.resolve();
  }

  /**
   * Writes one message as a line.
   *
   * @param message The message.
   */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.resolve();
    let data = this.#encoder.encode(serializeMessage(message));
    // Synchronous, as Node's stdout is on a pipe: messages keep their order.
    while (data.length > 0) {
      data = data.subarray(this.#streams.output.writeSync(data));
    }
    if ("id" in message && !("method" in message)) {
      this.#unanswered.delete(message.id);
      if (this.#inputEnded && this.#unanswered.size === 0) void this.close();
    }
    return Promise.resolve();
  }

  /** Stops delivering messages and reports the close once. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#cancelGrace();
      this.#pending = [];
      this.onclose?.();
    }
    return Promise.resolve();
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_SIZE);
    try {
      while (!this.#closed) {
        const count = await this.#streams.input.read(buffer);
        if (count === null) break;
        this.#take(buffer.subarray(0, count));
      }
    } catch (error) {
      if (!this.#closed) this.onerror?.(error as Error);
    }
    this.#inputEnded = true;
    if (this.#unanswered.size === 0) return await this.close();
    this.#cancelGrace = startTimer(END_GRACE_MS, () => void this.close());
  }

  /** Delivers the complete lines of `chunk`, keeping a partial last one. */
  #take(chunk: Uint8Array): void {
    let start = 0;
    let end = chunk.indexOf(LF);
    while (end !== -1 && !this.#closed) {
      this.#deliver(this.#line(chunk.subarray(start, end)));
      start = end + 1;
      end = chunk.indexOf(LF, start);
    }
    if (start < chunk.length && !this.#closed) {
      this.#pendingSize += chunk.length - start;
      if (this.#pendingSize > this.#maxLine) {
        this.onerror?.(
          new Error(
            `ReadBuffer exceeded maximum size of ${this.#maxLine} bytes`,
          ),
        );
        void this.close();
        return;
      }
      // A copy: the read buffer is reused.
      this.#pending.push(chunk.slice(start));
    }
  }

  /** The text of a line, with what came before it in earlier reads. */
  #line(tail: Uint8Array): string {
    let bytes = tail;
    if (this.#pending.length > 0) {
      bytes = new Uint8Array(this.#pendingSize + tail.length);
      let at = 0;
      for (const part of [...this.#pending, tail]) {
        bytes.set(part, at);
        at += part.length;
      }
      this.#pending = [];
      this.#pendingSize = 0;
    }
    if (bytes.at(-1) === CR) bytes = bytes.subarray(0, -1);
    return this.#decoder.decode(bytes);
  }

  /** A bad line is reported and skipped, as the SDK's transport does. */
  #deliver(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line);
    } catch (error) {
      this.onerror?.(error as Error);
      return;
    }
    if ("id" in message && "method" in message) {
      this.#unanswered.add(message.id);
    }
    // The SDK tells a request from a response by trying to parse it as a
    // response first: each failed parse builds a ZodError, and its stack
    // trace was half of those 60-120 µs a call. Only that synchronous
    // dispatch goes without stacks; the handler runs later, with them.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      this.onmessage?.(message);
    } catch (error) {
      this.onerror?.(error as Error);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}
