/**
 * DRF error bodies → messages keyed by the field they are about, so a screen can show each message
 * next to the input that caused it. Nested errors get dotted keys ("ranks.2.score"); "detail" and
 * "non_field_errors" land under "" (the form as a whole).
 */

export type FieldErrors = Record<string, string[]>;

export function fieldErrors(body: unknown, prefix = ""): FieldErrors {
  const out: FieldErrors = {};
  const add = (key: string, message: string) => {
    (out[key] ??= []).push(message);
  };
  const walk = (value: unknown, key: string) => {
    if (value === null || value === undefined) return;
    if (typeof value === "string" || typeof value === "number") add(key, String(value));
    else if (Array.isArray(value)) {
      if (value.every((v) => typeof v === "string")) value.forEach((v) => add(key, v as string));
      else value.forEach((v, i) => walk(v, key ? `${key}.${i}` : String(i)));
    } else if (typeof value === "object") {
      const obj = value as Record<string, unknown>;
      // The engine's ConfigError travels as {"field": name, "message": text}.
      if (typeof obj.field === "string" && typeof obj.message === "string" && Object.keys(obj).length === 2) {
        add(key ? `${key}.${obj.field}` : obj.field, obj.message);
        return;
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const name = k === "detail" || k === "non_field_errors" ? key : key ? `${key}.${k}` : k;
        walk(v, name);
      }
    }
  };
  walk(body, prefix);
  return out;
}

/** Messages for one field and everything nested under it ("ranks" also gets "ranks.0.rank"). */
export function errorsFor(errors: FieldErrors, field: string): string[] {
  return Object.entries(errors)
    .filter(([k]) => k === field || k.startsWith(`${field}.`))
    .flatMap(([, v]) => v);
}

/** Messages not claimed by any of the given fields (shown at the top of the form). */
export function otherErrors(errors: FieldErrors, claimed: string[]): string[] {
  return Object.entries(errors)
    .filter(([k]) => !claimed.some((c) => k === c || k.startsWith(`${c}.`)))
    .flatMap(([k, v]) => (k ? v.map((m) => `${k}: ${m}`) : v));
}
