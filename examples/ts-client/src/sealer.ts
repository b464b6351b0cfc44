/**
 * Seals and opens payload fields as a mesh that encrypts at rest does.
 *
 * A sealed value is "sb1:" + base64(12-byte nonce, AES-256-GCM ciphertext and 16-byte tag) under the
 * tenant's data key, with "tenant/field" as associated data. Without a key (a mesh with encryption off)
 * values pass unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const PREFIX = "sb1:";
const NONCE = 12;
const TAG = 16;

export class Sealer {
  private readonly key: Buffer | undefined;

  constructor(private readonly tenant: string, base64Key: string | undefined) {
    this.key = base64Key ? Buffer.from(base64Key, "base64") : undefined;
  }

  seal(field: string, text: string): string {
    if (!this.key || text === "") {
      return text;
    }
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce, { authTagLength: TAG });
    cipher.setAAD(this.aad(field));
    const body = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64");
  }

  open(field: string, value: string): string {
    if (!this.key || !value.startsWith(PREFIX)) {
      return value;
    }
    const raw = Buffer.from(value.slice(PREFIX.length), "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, NONCE), { authTagLength: TAG });
    decipher.setAAD(this.aad(field));
    decipher.setAuthTag(raw.subarray(raw.length - TAG));
    return Buffer.concat([decipher.update(raw.subarray(NONCE, raw.length - TAG)), decipher.final()]).toString("utf8");
  }

  private aad(field: string): Buffer {
    return Buffer.from(`${this.tenant}/${field}`, "utf8");
  }
}
