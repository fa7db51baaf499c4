/**
 * @module
 * The arguments an `aws` command got, by option: `ec2 create-subnet-cidr-reservation --subnet-id s --cidr c`
 * gives service `ec2`, operation `create-subnet-cidr-reservation` and the values of each `--option` (an
 * option takes every word up to the next `--option`, as the CLI's list options do). Pure.
 */

/** Parsed `aws` arguments. */
export interface CliArgs {
  readonly service: string;
  readonly operation: string;
  readonly options: ReadonlyMap<string, readonly string[]>;
  /** The one value of `--name`; throws when it is absent or has several. */
  one(name: string): string;
}

/** Parses the arguments after `aws`. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const [service = '', operation = '', ...rest] = argv;
  const options = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const word of rest) {
    if (word.startsWith('--')) {
      current = [];
      options.set(word, current);
    } else if (current) {
      current.push(word);
    } else {
      throw new Error(`aws ${service} ${operation}: "${word}" before any option`);
    }
  }
  return {
    service,
    operation,
    options,
    one(name) {
      const values = options.get(name);
      if (values?.length !== 1) {
        throw new Error(`aws ${service} ${operation}: ${name} has ${values?.length ?? 0} values, not 1`);
      }
      return values[0]!;
    },
  };
}
