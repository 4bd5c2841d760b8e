/** The tests read Parquet outputs the way `inspect` does. */
export { readSinkRows } from "../../../src/inspect/sink-files.js";
