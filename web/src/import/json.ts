// Reading JSON exports with our own messages (which name places and keys, never values).
import { malformed, type Format } from "./model";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function parseJson(format: Format, text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw malformed(format, "not JSON");
  }
}

export function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A string as is, an integer in decimal, a boolean as `true`/`false`; anything else null. */
export function scalarText(v: Json | undefined): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  return null;
}

/** A cursor over one JSON object with the place it is at, for messages. */
export class Obj {
  readonly map: { [key: string]: Json };

  constructor(
    value: Json | undefined,
    readonly format: Format,
    readonly place: string,
  ) {
    if (!isObject(value)) throw malformed(format, `${place} is not a JSON object`);
    this.map = value;
  }

  private wrong(key: string, what: string): Error {
    return malformed(this.format, `${this.place}: \`${key}\` is not ${what}`);
  }

  private get(key: string): Json | undefined {
    return Object.prototype.hasOwnProperty.call(this.map, key) ? this.map[key] : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  raw(key: string): Json | undefined {
    return this.get(key);
  }

  /** A string member; missing or null is "". */
  str(key: string): string {
    const v = this.get(key);
    if (v === undefined || v === null) return "";
    if (typeof v === "string") return v;
    throw this.wrong(key, "a string");
  }

  /** A string, integer or boolean member as text; missing or null is "". */
  text(key: string): string {
    const v = this.get(key);
    if (v === undefined || v === null) return "";
    const t = scalarText(v);
    if (t === null) throw this.wrong(key, "a string");
    return t;
  }

  array(key: string): Json[] {
    const v = this.get(key);
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    throw this.wrong(key, "an array");
  }

  object(key: string): Obj | null {
    const v = this.get(key);
    if (v === undefined || v === null) return null;
    if (isObject(v)) return new Obj(v, this.format, `${this.place}.${key}`);
    throw this.wrong(key, "an object");
  }

  int(key: string): number | null {
    const v = this.get(key);
    if (v === undefined || v === null) return null;
    if (typeof v === "number" && Number.isSafeInteger(v)) return v;
    throw this.wrong(key, "an integer");
  }

  flag(key: string): boolean {
    return this.get(key) === true;
  }
}
