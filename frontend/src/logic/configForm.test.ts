import { coerceConfig, formFields, initialText, presetValues } from "./configForm";

describe("launch form from the engine's config schema", () => {
  const schema = {
    fields: [
      { name: "learning_rate", type: "float", default: 0.0001, help: "Adam step size" },
      { name: "epochs", type: "int", default: 1 },
      { name: "gradient_checkpointing", type: "bool", default: false },
      { name: "scheduler", type: "str", default: "cosine", choices: ["cosine", "linear"] },
      { name: "prompts", type: "list[str]", default: ["a"] },
      { name: "run_name", type: "str" },
    ],
  };

  it("reads fields with their types, defaults and choices", () => {
    const fields = formFields(schema);
    expect(fields.map((f) => [f.name, f.type, f.required])).toEqual([
      ["learning_rate", "float", false],
      ["epochs", "int", false],
      ["gradient_checkpointing", "bool", false],
      ["scheduler", "choice", false],
      ["prompts", "list", false],
      ["run_name", "str", true],
    ]);
    expect(fields[0].help).toBe("Adam step size");
    expect(initialText(fields[4])).toBe('["a"]');
  });

  it("also reads a schema keyed by field name", () => {
    const fields = formFields({ steps: { type: "integer", default: 10 }, seed: 0 });
    expect(fields.map((f) => [f.name, f.type, f.default])).toEqual([["steps", "int", 10], ["seed", "int", 0]]);
  });

  it("sends every field as the form shows it, with the right types", () => {
    const fields = formFields(schema);
    const { config, errors } = coerceConfig(fields, {
      learning_rate: "0.001", epochs: "1", gradient_checkpointing: true, prompts: '["x", "y"]', run_name: "try",
    });
    expect(errors).toEqual({});
    expect(config).toEqual({
      learning_rate: 0.001, epochs: 1, gradient_checkpointing: true, scheduler: "cosine", prompts: ["x", "y"], run_name: "try",
    });
  });

  it("keeps a default-on checkbox on when it is left untouched (issue 13, defect 1)", () => {
    const fields = formFields({ fields: [
      { name: "do_sample", type: "bool", default: true },
      { name: "normalize", type: "bool", default: true },
      { name: "prefix_reuse", type: "bool", default: false },
    ] });
    expect(coerceConfig(fields, {}).config).toEqual({ do_sample: true, normalize: true, prefix_reuse: false });
    expect(coerceConfig(fields, { do_sample: false }).config.do_sample).toBe(false);
  });

  it("an untouched form is exactly the schema's defaults", () => {
    const fields = formFields({ fields: [
      { name: "lr", type: "float", default: 5e-5 }, { name: "ids", type: "list", default: [] },
      { name: "judge", type: "int", default: null }, { name: "split", type: "str", default: "" },
    ] });
    expect(coerceConfig(fields, {})).toEqual({ config: { lr: 5e-5, ids: [], judge: null, split: "" }, errors: {} });
    // Retyping the default text sends the default itself, not a re-parsed copy.
    expect(coerceConfig(fields, { lr: "0.00005", judge: "" }).config).toEqual({ lr: 5e-5, ids: [], judge: null, split: "" });
  });

  it("an emptied box with a default is an error, never a silent default", () => {
    const fields = formFields({ fields: [{ name: "k", type: "int", default: 4 }] });
    expect(coerceConfig(fields, { k: "" }).errors).toEqual({ k: "Enter a value." });
  });

  it("a preset fills in its values as the form shows them", () => {
    const fields = formFields({ fields: [{ name: "kl_coef", type: "float", default: 0.05 }, { name: "adaptive", type: "bool", default: false }] });
    expect(presetValues(fields, { kl_coef: 0.02, adaptive: true, unknown: 1 })).toEqual({ kl_coef: "0.02", adaptive: true });
  });

  it("names each field with a bad value", () => {
    const fields = formFields(schema);
    const { errors } = coerceConfig(fields, { learning_rate: "fast", epochs: "1.5", scheduler: "step", prompts: "{", run_name: "" });
    expect(Object.keys(errors).sort()).toEqual(["epochs", "learning_rate", "prompts", "run_name", "scheduler"]);
    expect(errors.run_name).toBe("This field is required.");
  });
});
