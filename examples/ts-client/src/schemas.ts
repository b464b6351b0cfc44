/**
 * The mesh's Avro schemas, read from the .avsc files of the repository's schemas/ folder, and the Avro
 * single-object framing the mesh puts on every value.
 *
 * Each file names the records it uses ("switchboard.Envelope"); avsc resolves a name through a registry
 * of the types parsed so far, so the files are parsed in dependency order.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as avro from "avsc";

const REFERENCE = /"(switchboard\.[A-Za-z]+)"/g;
/** The two marker bytes of Avro single-object encoding. */
const MARKER = Buffer.from([0xc3, 0x01]);
const HEADER = MARKER.length + 8;

export class Schemas {
  private readonly byName: Record<string, avro.Type> = {};

  constructor(dir: string) {
    const texts = new Map<string, string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".avsc"))) {
      texts.set(file.replace(/\.avsc$/, ""), readFileSync(join(dir, file), "utf8"));
    }
    const order = new Set<string>();
    for (const name of texts.keys()) {
      visit(name, texts, order);
    }
    for (const name of order) {
      // unions come back unwrapped (a string or null), enums as their symbol, timestamp-millis as its long
      avro.Type.forSchema(JSON.parse(texts.get(name)!), { registry: this.byName, wrapUnions: false });
    }
  }

  /** The type of a record, by full name ("switchboard.TaskSubmitted"). */
  get(name: string): avro.Type {
    const type = this.byName[name];
    if (!type) {
      throw new Error(`no schema ${name} in the schemas folder`);
    }
    return type;
  }
}

/** Adds `name` to `order` after every schema it references. */
function visit(name: string, texts: Map<string, string>, order: Set<string>): void {
  if (order.has(name) || !texts.has(name)) {
    return;
  }
  for (const m of texts.get(name)!.matchAll(REFERENCE)) {
    if (m[1] !== name) {
      visit(m[1], texts, order);
    }
  }
  order.add(name);
}

/**
 * The 8-byte CRC-64-AVRO (Rabin) fingerprint of a type's parsing canonical form, little-endian, as the
 * single-object header carries it. avsc writes the canonical form (`JSON.stringify(type.schema())`) but
 * its `fingerprint()` takes only node's hash algorithms (MD5, SHA-256), so the Rabin fingerprint is here.
 */
export function fingerprint(type: avro.Type): Buffer {
  let fp = EMPTY;
  for (const byte of Buffer.from(JSON.stringify(type.schema()), "utf8")) {
    fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)];
  }
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp);
  return out;
}

const EMPTY = 0xc15d213aa4d7a795n;
const TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) {
    fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
  }
  return fp;
});

/** `value` of `type` in Avro single-object encoding: C3 01, the fingerprint, the Avro binary body. */
export function encode(type: avro.Type, value: unknown): Buffer {
  return Buffer.concat([MARKER, fingerprint(type), type.toBuffer(value)]);
}

/** The record of `type` in `bytes`, or undefined where they hold another record (or none). */
export function decode<T>(type: avro.Type, bytes: Buffer | null): T | undefined {
  if (!bytes || bytes.length < HEADER || !bytes.subarray(0, 2).equals(MARKER)
      || !bytes.subarray(2, HEADER).equals(fingerprint(type))) {
    return undefined;
  }
  try {
    return type.fromBuffer(bytes.subarray(HEADER)) as T;
  } catch {
    return undefined; // the fingerprint matched but the body did not: not a record this client can read
  }
}
