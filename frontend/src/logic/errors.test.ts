import { errorsFor, fieldErrors, otherErrors } from "./errors";

describe("API errors mapped to fields", () => {
  it("keys DRF field errors by field and general ones by the empty key", () => {
    const errors = fieldErrors({ reason: ["This field may not be blank."], detail: "Lease expired." });
    expect(errors).toEqual({ reason: ["This field may not be blank."], "": ["Lease expired."] });
  });

  it("gives nested errors dotted keys", () => {
    const errors = fieldErrors({ ranks: [{}, { score: ["Ensure this value is less than or equal to 7."] }] });
    expect(errors).toEqual({ "ranks.1.score": ["Ensure this value is less than or equal to 7."] });
    expect(errorsFor(errors, "ranks")).toEqual(["Ensure this value is less than or equal to 7."]);
  });

  it("reads the engine's {field, message} config errors as that field's error", () => {
    const errors = fieldErrors({ config: { field: "learning_rate", message: "must be > 0" } });
    expect(errors).toEqual({ "config.learning_rate": ["must be > 0"] });
  });

  it("collects what no field on screen claims", () => {
    const errors = fieldErrors({ text: ["Too long."], non_field_errors: ["Task already done."], other: ["x"] });
    expect(otherErrors(errors, ["text"])).toEqual(["Task already done.", "other: x"]);
  });
});
