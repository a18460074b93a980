/**
 * Middleware options that hold Go regular expressions, compiled by the one
 * Go translator (src/regex/) that rules use too. A bad pattern becomes a
 * MiddlewareOptionError naming the field, so it surfaces as a configuration
 * error on that middleware.
 */
import { compileGoRegexp, GoRegexpError } from '../../regex/go-regexp.js';
import { compileGoReplacer, type GoReplacer } from '../../regex/go-template.js';
import { MiddlewareOptionError } from '../types.js';

function optionError(field: string, pattern: string, err: unknown): unknown {
  if (err instanceof GoRegexpError) return new MiddlewareOptionError(field, `invalid Go regular expression "${pattern}": ${err.message}`);
  return err;
}

/** A Go regexp option; `test` is Go's MatchString and `exec` its FindStringSubmatch. */
export function regexOption(pattern: string, field: string): RegExp {
  try {
    return compileGoRegexp(pattern);
  } catch (err) {
    throw optionError(field, pattern, err);
  }
}

/** A Go regexp option and its Go replacement template (`$1`, `${name}`). */
export function replacerOption(pattern: string, template: string, field: string): GoReplacer {
  try {
    return compileGoReplacer(pattern, template);
  } catch (err) {
    throw optionError(field, pattern, err);
  }
}
