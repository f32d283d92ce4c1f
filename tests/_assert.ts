/**
 * `@std/assert`, typed. The npm package it comes from has no declarations,
 * so its functions arrive as `any`; here each gets the signature of the JSR
 * original, and tests import them from this file.
 */
import * as std from "@std/assert";

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

export const assert: (expr: unknown, msg?: string) => asserts expr = std.assert;
export const assertEquals: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertEquals;
export const assertStrictEquals: <T>(
  actual: unknown,
  expected: T,
  msg?: string,
) => asserts actual is T = std.assertStrictEquals;
export const assertMatch: (
  actual: string,
  expected: RegExp,
  msg?: string,
) => void = std.assertMatch;
export const assertStringIncludes: (
  actual: string,
  expected: string,
  msg?: string,
) => void = std.assertStringIncludes;
export const assertLess: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertLess;
export const assertInstanceOf: <E extends Error>(
  actual: unknown,
  expectedType: ErrorClass<E>,
  msg?: string,
) => asserts actual is E = std.assertInstanceOf;
export const assertThrows: {
  (fn: () => unknown, msg?: string): unknown;
  <E extends Error>(
    fn: () => unknown,
    errorClass: ErrorClass<E>,
    msgIncludes?: string,
  ): E;
} = std.assertThrows;
export const assertRejects: {
  (fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
  <E extends Error>(
    fn: () => PromiseLike<unknown>,
    errorClass: ErrorClass<E>,
    msgIncludes?: string,
  ): Promise<E>;
} = std.assertRejects;
