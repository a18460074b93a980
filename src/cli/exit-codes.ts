/**
 * The `gatehouse` command's exit codes (docs/errors.md, "Exit codes"):
 * scripts and service managers rely on them, so they never change meaning.
 */
export const EXIT = {
  /** Done; for `check`: the configuration is valid (and the running gateway healthy). */
  OK: 0,
  /** Failed: invalid configuration, a failed live check, an unreachable admin API, a runtime fault. */
  FAILED: 1,
  /** Usage: an unknown command, flag or argument, or a flag value of the wrong type. */
  USAGE: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
