// ESLint: the recommended rules of ESLint and typescript-eslint, with type information (the
// rules that need the types run on tsconfig.json's program: about 15 s), for the TypeScript of
// driver/, bench/ and the root's vitest config. Formatting is Prettier's (`npm run lint` runs both).
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    ignores: ["dist/", "sql/", "infrastructure/", "conf/", ".local-stack/", ".stack-cache/", "driver/test/fixtures/", "driver/test/**/fixtures/"],
  },
  {
    files: ["driver/**/*.ts", "bench/**/*.ts", "vitest.config.ts"],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Leaving properties out of an object by destructuring the rest ({ timestamp: _timestamp,
      // ...fields }) is how the code copies an object without some keys.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      // The control characters in regular expressions are deliberate: the spec's names, JSON
      // paths and the registry CSV are checked for them (and Spark's trim is U+0000-U+0020).
      "no-control-regex": "off",
      // An async function without await is deliberate here: implementations of interfaces that
      // return promises (the local FileStore, the stand-ins of the tests), whose errors must
      // arrive as rejections, as the real implementations' do, not as synchronous throws.
      "@typescript-eslint/require-await": "off",
      // String(value) on parsed JSON, YAML and Arrow cells typed unknown: once null is ruled out
      // TypeScript calls the value {}, which this rule reports though String() is what is meant.
      "@typescript-eslint/no-base-to-string": "off",
      // Prettier keeps code within its print width of 160, but it cannot split a string, template
      // or regular expression literal, so a long one stays on a line of its own past 160. This
      // keeps literals (and comments) within 160 too: split them into concatenations. A line with
      // a URL is exempt, as a URL cannot be split. (max-len is deprecated in favour of
      // @stylistic/eslint-plugin but still in ESLint's core until ESLint 11.)
      "max-len": ["error", { code: 160, ignoreUrls: true }],
    },
  },
  {
    files: ["driver/test/**/*.ts"],
    rules: {
      // vitest's asymmetric matchers (expect.stringMatching, expect.objectContaining) are typed
      // any, and their place is inside the objects a test expects.
      "@typescript-eslint/no-unsafe-assignment": "off",
    },
  },
);
