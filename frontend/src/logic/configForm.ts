/**
 * The job launch form is built from the engine's config schema (GET /api/jobs/config-schema/), so a
 * new config field shows up in the UI without UI changes. The schema of one kind may come as a list
 * of fields or as an object keyed by field name; both are read into `FormField`s.
 */

export type FieldType = "int" | "float" | "bool" | "str" | "choice" | "list" | "json";

export interface FormField {
  name: string;
  type: FieldType;
  default: unknown;
  required: boolean;
  help: string;
  choices: string[];
}

const TYPE_NAMES: Record<string, FieldType> = {
  int: "int", integer: "int",
  float: "float", number: "float",
  bool: "bool", boolean: "bool",
  str: "str", string: "str", path: "str",
  list: "list", array: "list", tuple: "list",
  dict: "json", object: "json", json: "json",
};

function fieldType(raw: Record<string, unknown>): FieldType {
  const choices = raw.choices ?? raw.enum;
  if (Array.isArray(choices) && choices.length) return "choice";
  const name = String(raw.type ?? "str").toLowerCase().replace(/^optional\[(.*)\]$/, "$1").replace(/\s*\|\s*none$/, "");
  const base = name.split("[")[0];
  return TYPE_NAMES[base] ?? "str";
}

export function formFields(schema: unknown): FormField[] {
  let entries: Record<string, unknown>[] = [];
  if (Array.isArray(schema)) entries = schema as Record<string, unknown>[];
  else if (schema && typeof schema === "object") {
    const obj = schema as Record<string, unknown>;
    const inner = obj.fields ?? obj.properties;
    if (Array.isArray(inner)) entries = inner as Record<string, unknown>[];
    else {
      const byName = (inner && typeof inner === "object" ? inner : obj) as Record<string, unknown>;
      entries = Object.entries(byName).map(([name, spec]) =>
        spec && typeof spec === "object"
          ? { name, ...(spec as object) }
          : { name, default: spec, type: Number.isInteger(spec) ? "int" : typeof spec },
      );
    }
  }
  return entries.map((raw) => {
    const choices = (raw.choices ?? raw.enum ?? []) as unknown[];
    const hasDefault = "default" in raw;
    return {
      name: String(raw.name),
      type: fieldType(raw),
      default: hasDefault ? raw.default : null,
      required: Boolean(raw.required ?? !hasDefault),
      help: String(raw.help ?? raw.description ?? ""),
      choices: choices.map(String),
    };
  });
}

/** The text an input starts with for a field's default. */
export function initialText(field: FormField): string {
  const d = field.default;
  if (d === null || d === undefined) return "";
  if (field.type === "list" || field.type === "json") return JSON.stringify(d);
  return String(d);
}

export interface Coerced {
  config: Record<string, unknown>;
  errors: Record<string, string>;
}

/**
 * Turn the form's inputs into a config object: every field, with the value the form shows, so the job
 * stores exactly what the user saw (an untouched field sends its schema default, unchanged). Errors are
 * keyed by field name.
 */
export function coerceConfig(fields: FormField[], values: Record<string, string | boolean>): Coerced {
  const config: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const raw = values[field.name];
    if (raw === undefined) {
      // Untouched: the default itself (an untouched checkbox whose default is on stays on).
      if (field.required) errors[field.name] = "This field is required.";
      else config[field.name] = field.default;
      continue;
    }
    if (field.type === "bool") {
      config[field.name] = Boolean(raw);
      continue;
    }
    const text = String(raw).trim();
    if (text === initialText(field) && !field.required) {
      config[field.name] = field.default;
      continue;
    }
    if (text === "") {
      // An empty box is never silently turned into a default: only an optional (null) field may be empty.
      if (field.default === null && !field.required) config[field.name] = null;
      else errors[field.name] = field.required ? "This field is required." : "Enter a value.";
      continue;
    }
    let value: unknown = text;
    if (field.type === "int") {
      if (!/^-?\d+$/.test(text)) { errors[field.name] = "Enter a whole number."; continue; }
      value = Number(text);
    } else if (field.type === "float") {
      const n = Number(text);
      if (!Number.isFinite(n)) { errors[field.name] = "Enter a number."; continue; }
      value = n;
    } else if (field.type === "choice") {
      if (!field.choices.includes(text)) { errors[field.name] = `Choose one of: ${field.choices.join(", ")}.`; continue; }
    } else if (field.type === "list" || field.type === "json") {
      try {
        value = JSON.parse(text);
      } catch {
        errors[field.name] = "Enter valid JSON.";
        continue;
      }
      if (field.type === "list" && !Array.isArray(value)) { errors[field.name] = "Enter a JSON list."; continue; }
    }
    config[field.name] = value;
  }
  return { config, errors };
}

/** The form values a preset fills in (PPO's "instructgpt"): each as the text its input shows. */
export function presetValues(fields: FormField[], preset: Record<string, unknown> | undefined): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(preset ?? {})) {
    const field = fields.find((f) => f.name === name);
    if (field) out[name] = field.type === "bool" ? Boolean(value) : initialText({ ...field, default: value });
  }
  return out;
}
