import { coerceConfig, formFields, initialText } from "./configForm";

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

  it("sends only changed and required fields, with the right types", () => {
    const fields = formFields(schema);
    const { config, errors } = coerceConfig(fields, {
      learning_rate: "0.001", epochs: "1", gradient_checkpointing: true, prompts: '["x", "y"]', run_name: "try",
    });
    expect(errors).toEqual({});
    expect(config).toEqual({ learning_rate: 0.001, gradient_checkpointing: true, prompts: ["x", "y"], run_name: "try" });
  });

  it("names each field with a bad value", () => {
    const fields = formFields(schema);
    const { errors } = coerceConfig(fields, { learning_rate: "fast", epochs: "1.5", scheduler: "step", prompts: "{", run_name: "" });
    expect(Object.keys(errors).sort()).toEqual(["epochs", "learning_rate", "prompts", "run_name", "scheduler"]);
    expect(errors.run_name).toBe("This field is required.");
  });
});
