/**
 * Byte helpers shared by the modules that join output chunks.
 *
 * @module
 */

/**
 * Joins byte chunks into one array (the chunk itself when there is one).
 *
 * @param chunks The chunks, in order.
 * @returns Their concatenation.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * console.log(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])])); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let pos = 0;
  for (const chunk of chunks) {
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out;
}

/**
 * Bytes as base64 text.
 *
 * @param bytes The bytes.
 * @returns Their base64 encoding.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./bytes.ts";
 * console.log(encodeBase64(new Uint8Array([104, 105]))); // "aGk="
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

/**
 * Base64 text as bytes.
 *
 * @param text The base64 text.
 * @returns The bytes.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./bytes.ts";
 * console.log(decodeBase64("aGk=")); // Uint8Array(2) [ 104, 105 ]
 * ```
 */
export function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}
