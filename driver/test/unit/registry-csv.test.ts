/** The registry CSV read as the pipeline's Spark job reads it, and every problem found at once, with its line. */
import { describe, expect, it } from "vitest";
import { readRegistryCsv, type RegistryShape } from "../../src/registry/registry-csv.js";

const SHAPE: RegistryShape = { key: "DevEui", columns: ["institute", "profile", "classroom"] };
const HEADER = "institute,DevEui,profile,classroom";

const read = (text: string | Buffer) => readRegistryCsv(typeof text === "string" ? Buffer.from(text) : text, SHAPE);
const problems = (text: string | Buffer) => read(text).problems.map((p) => `${p.line}${p.column === undefined ? "" : `:${p.column}`}: ${p.message}`);

describe("readRegistryCsv: a valid registry", () => {
  it("reads the header and rows with their line numbers", () => {
    const registry = read(`${HEADER}\nIES Sant Pau,000024E124001EEF,iaq,Aula 1.1\nIES Sant Pau,000024E124003DDE,finestra,Aula 1.2\n`);
    expect(registry.problems).toEqual([]);
    expect(registry.header).toEqual(["institute", "DevEui", "profile", "classroom"]);
    expect(registry.rows).toEqual([
      { line: 2, values: ["IES Sant Pau", "000024E124001EEF", "iaq", "Aula 1.1"] },
      { line: 3, values: ["IES Sant Pau", "000024E124003DDE", "finestra", "Aula 1.2"] },
    ]);
  });

  it("drops a UTF-8 byte order mark from the content it would upload, and reads the first column's name without it", () => {
    const text = `${HEADER}\r\nEscola Mar,000024E12404B669,porta,1r B\r\n`;
    const registry = read(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expect(registry.problems).toEqual([]);
    expect(registry.header[0]).toBe("institute");
    expect(registry.content.toString("utf8")).toBe(text);
    expect(read(text).content.toString("utf8")).toBe(text);
  });

  it("skips blank lines anywhere, as Spark does, and counts them in line numbers; CRLF and CR end lines too", () => {
    const registry = read(`\n${HEADER}\r\n\r\nEscola Mar,A1,iaq,Aula 1\r   \rEscola Mar,A2,iaq,Aula 2\n\n\n`);
    expect(registry.problems).toEqual([]);
    expect(registry.headerLine).toBe(2);
    expect(registry.rows.map((r) => [r.line, r.values[1]])).toEqual([
      [4, "A1"],
      [6, "A2"],
    ]);
  });

  it("reads quoted values with commas, keeps spaces inside quotes and trims them outside", () => {
    const registry = read(`${HEADER}\n"IES Sant Pau, Barcelona" , 000024E124001EEF ,  iaq,"  Aula 1,2 "\nEscola Màr 🌊,B2,iaq,\n`);
    expect(registry.problems).toEqual([]);
    expect(registry.rows.map((r) => r.values)).toEqual([
      ["IES Sant Pau, Barcelona", "000024E124001EEF", "iaq", "  Aula 1,2 "],
      ["Escola Màr 🌊", "B2", "iaq", ""],
    ]);
  });

  it("finds the spec's columns case-insensitively, as Spark resolves them, in any order, beside other columns", () => {
    expect(problems(`classroom,Notes,deveui,PROFILE,Institute\nAula 1,"by the door",A1,iaq,Escola Mar\n`)).toEqual([]);
  });
});

describe("readRegistryCsv: problems, each with its line", () => {
  it("names the missing header columns and the ones the header has", () => {
    expect(problems("institute,DeviceEui,profile\nEscola Mar,A1,iaq\n")).toEqual([
      "1: the header lacks DevEui, classroom (the spec's registry.key and registry.columns); it has: institute, DeviceEui, profile",
    ]);
  });

  it("refuses a header that names a column twice: Spark renames both copies", () => {
    expect(problems(`${HEADER},DevEui\nEscola Mar,A1,iaq,Aula 1,A1\n`)).toEqual([
      '1: the header names "DevEui" 2 times (columns 2, 5): Spark renames each copy (DevEui1, DevEui4), so none is found by its name',
    ]);
  });

  it("counts the values of every row against the header", () => {
    expect(problems(`${HEADER}\nEscola Mar,A1,iaq,Aula 1,2\nEscola Mar,A2,iaq\nEscola Mar,A3,iaq,Aula 3,\n`)).toEqual([
      '2: 5 values, but the header has 4 (a value with a comma must be in double quotes: "Aula 1,2")',
      "3: 3 values, but the header has 4",
      '4: 5 values, but the header has 4 (a value with a comma must be in double quotes: "Aula 1,2")',
    ]);
  });

  it("refuses rows without a key, blank or quoted", () => {
    expect(problems(`${HEADER}\nEscola Mar,,iaq,Aula 1\nEscola Mar,   ,iaq,Aula 2\nEscola Mar,"",iaq,Aula 3\nEscola Mar," ",iaq,Aula 4\n`)).toEqual([
      "2: no DevEui: every device needs one (the pipeline ignores rows without)",
      "3: no DevEui: every device needs one (the pipeline ignores rows without)",
      "4: no DevEui: every device needs one (the pipeline ignores rows without)",
      "5: no DevEui: every device needs one (the pipeline ignores rows without)",
    ]);
  });

  it("names the lines of every duplicate key", () => {
    expect(
      problems(
        `${HEADER}\nEscola Mar,A1,iaq,Aula 1\nEscola Mar,A2,iaq,Aula 2\nEscola Mar, A1 ,porta,Aula 1\n\nEscola Mar,A2,iaq,Aula 2\nEscola Mar,"A1",iaq,Aula 9\n`,
      ),
    ).toEqual([
      "4: DevEui A1 is already on line 2: the pipeline would keep only one of them",
      "6: DevEui A2 is already on line 3: the pipeline would keep only one of them",
      "7: DevEui A1 is already on line 2: the pipeline would keep only one of them",
    ]);
  });

  it("refuses double quotes inside values, which Spark does not read as RFC 4180 writes them", () => {
    expect(problems(`${HEADER}\nEscola Mar,A1,iaq,"Aula ""Mar"""\nEscola Mar,A2,iaq,"Aula \\"B\\""\nEscola Mar,A3,iaq,Aula "C"\n`)).toEqual([
      '2:25: a doubled quote ("") inside a quoted value: Spark reads this registry with "\\" as its CSV escape character, ' +
        "not RFC 4180's doubled quote, and would keep quotes in the value; " +
        "leave double quotes out of registry values (quote only whole values that contain a comma)",
      '2:30: a doubled quote ("") inside a quoted value: Spark reads this registry with "\\" as its CSV escape character, ' +
        "not RFC 4180's doubled quote, and would keep quotes in the value; " +
        "leave double quotes out of registry values (quote only whole values that contain a comma)",
      '3:25: \\" inside a quoted value: Spark reads it as an escaped quote, RFC 4180 as a backslash ending the value; ' +
        "leave double quotes out of registry values (quote only whole values that contain a comma)",
      '3:28: \\" inside a quoted value: Spark reads it as an escaped quote, RFC 4180 as a backslash ending the value; ' +
        "leave double quotes out of registry values (quote only whole values that contain a comma)",
      "4:24: a double quote inside an unquoted value: Spark would drop or keep it depending on what follows; " +
        "leave double quotes out of registry values (quote only whole values that contain a comma)",
    ]);
  });

  it("refuses a quoted value that spans lines: Spark reads one line at a time", () => {
    expect(problems(`${HEADER}\nEscola Mar,A1,iaq,"Aula\n1"\n`)).toEqual([
      "2:19: this quoted value is not closed on its line: Spark reads the registry one line at a time, so a value cannot contain a line break",
      "3: 1 values, but the header has 4",
      "3:2: a double quote inside an unquoted value: Spark would drop or keep it depending on what follows; " +
        "leave double quotes out of registry values (quote only whole values that contain a comma)",
    ]);
    expect(problems(`${HEADER}\nEscola Mar,A1,iaq,"Aula 1" B\n`)).toEqual([
      "2:28: text after the closing quote of a value: put the whole value in double quotes",
    ]);
  });

  it("refuses bytes that are not UTF-8, with the line and the byte", () => {
    const latin1 = Buffer.concat([
      Buffer.from(`${HEADER}\nEscola Mar,A1,iaq,Aula 1\nEscola M`),
      Buffer.from([0xe0]),
      Buffer.from("r,A2,iaq,Aula 2\nEscola Mar,A3,iaq,Men"),
      Buffer.from([0xfa]),
      Buffer.from("\n"),
    ]);
    expect(problems(latin1)).toEqual([
      "3:9: not UTF-8: byte 0xE0 at byte 9 of the line; save the file as UTF-8 (this looks like Latin-1 or Windows-1252)",
      "4:22: not UTF-8: byte 0xFA at byte 22 of the line; save the file as UTF-8 (this looks like Latin-1 or Windows-1252)",
    ]);
    expect(problems(Buffer.concat([Buffer.from(`${HEADER}\nEscola `), Buffer.from([0xc3, 0xa0, 0x80]), Buffer.from(",A1,iaq,Aula 1\n")]))[0]).toMatch(
      /^2:10: not UTF-8: byte 0x80 at byte 10/,
    );
  });

  it("lists every problem of the file, in line order", () => {
    const text = [
      "institute,DevEui,profile,classrom",
      "Escola Mar,A1,iaq,Aula 1",
      "Escola Mar,,iaq,Aula 2",
      "Escola Mar,A1,iaq",
      "Escola Mar,A1,iaq,Aula 1",
      'Escola Mar,A4,iaq,"Aula ""4"""',
    ].join("\n");
    expect(problems(text).map((p) => /^\d+(:\d+)?/.exec(p)![0])).toEqual(["1", "3", "4", "5", "6:25", "6:28"]);
    expect(problems(text)[0]).toContain("the header lacks classroom");
  });

  it("refuses an empty file and a header without devices", () => {
    expect(problems("")).toEqual(["1: the file is empty: its first line must be the header, naming DevEui, institute, profile, classroom"]);
    expect(problems("\uFEFF\n  \n")).toEqual(["1: the file is empty: its first line must be the header, naming DevEui, institute, profile, classroom"]);
    expect(problems(`\n${HEADER}\n`)).toEqual(["2: no devices: the header is the only line"]);
  });
});
