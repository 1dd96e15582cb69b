import { concatBytes, fromBase64Url, toBase64Url, utf8 } from './bytes.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM with WebCrypto, identical in Node and the browser.
 * Sealed form: base64url(iv || ciphertext || tag). The AAD names the logical address the message was sealed for
 * (its topic), so a message moved to another inbox or presence slot fails authentication.
 */
export class SealKey {
  constructor(private readonly key: CryptoKey) {}

  async seal(plaintext: Uint8Array, aad: string): Promise<string> {
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ct = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: utf8.encode(aad) as BufferSource, tagLength: TAG_BYTES * 8 },
      this.key,
      plaintext as BufferSource,
    );
    return toBase64Url(concatBytes(iv, new Uint8Array(ct)));
  }

  /** Returns the plaintext, `'malformed'` if the text is not a sealed box, or `'bad-tag'` if authentication fails. */
  async open(sealed: string, aad: string): Promise<Uint8Array | 'malformed' | 'bad-tag'> {
    const raw = fromBase64Url(sealed);
    if (raw === undefined || raw.length < IV_BYTES + TAG_BYTES) return 'malformed';
    try {
      const pt = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: raw.subarray(0, IV_BYTES) as BufferSource, additionalData: utf8.encode(aad) as BufferSource, tagLength: TAG_BYTES * 8 },
        this.key,
        raw.subarray(IV_BYTES) as BufferSource,
      );
      return new Uint8Array(pt);
    } catch {
      return 'bad-tag';
    }
  }
}
