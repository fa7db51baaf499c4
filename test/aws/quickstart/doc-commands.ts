/**
 * @module
 * Reads a quick start the way a reader runs it: the steps of its shell blocks (`sh`, `bash`, `shell` or none),
 * its `console` blocks (the `$ ` lines) and its inline code, in order. A step is an `aws …` command (the whole
 * pipeline, `\` continuations joined; also inside `$(…)`, in comments and in prose), a variable assignment, or
 * a file written by `cat > FILE <<EOF`. Pure: text in, steps out.
 */

/** Where in the Markdown a step was found. */
export type Origin = 'block' | 'comment' | 'prose';

interface StepBase {
  /** The heading the step sits under, e.g. `4a. EKS Pod Identity (simplest)`. */
  readonly section: string;
  /** 1-based line of the statement in the Markdown. */
  readonly line: number;
}

/** An `aws` command. */
export interface AwsCommand extends StepBase {
  readonly kind: 'aws';
  readonly origin: Origin;
  /** The pipeline from `aws` to its end, as a shell would run it. */
  readonly text: string;
  /** `service operation`, e.g. `ec2 create-subnet-cidr-reservation` (`eks wait nodegroup-active`). */
  readonly operation: string;
  /** The variable its output is assigned to, for `[export] NAME=$(aws …)`. */
  readonly assigns?: string;
}

/** `[export] NAME=VALUE`. */
export interface Assignment extends StepBase {
  readonly kind: 'assign';
  readonly name: string;
  /** The value as a shell word; undefined when it is the output of a command other than `aws`. */
  readonly value?: string;
}

/** `cat > PATH <<DELIMITER` with its here-document. */
export interface FileWrite extends StepBase {
  readonly kind: 'file';
  readonly path: string;
  /** The statement and its here-document, as a shell script. */
  readonly script: string;
}

/** One step of a quick start. */
export type DocStep = AwsCommand | Assignment | FileWrite;

const FENCE = /^\s*(`{3,})\s*([\w-]*)\s*$/;
const HEADING = /^#{1,6}\s+(.*?)\s*$/;
const SHELL_LANGS = new Set(['', 'sh', 'bash', 'shell']);
/** An `aws` word at a command position's start, followed by a service and an operation. */
const AWS = /(^|[\s(`|;&])aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)/g;

/** Every step of `markdown`, in order. */
export function docSteps(markdown: string): DocStep[] {
  const lines = markdown.split('\n');
  const steps: DocStep[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      const end = closingFence(lines, i + 1, fence[1]!);
      const body = lines.slice(i + 1, end);
      const lang = fence[2]!;
      if (SHELL_LANGS.has(lang)) steps.push(...scriptSteps(body, i + 2, section));
      else if (lang === 'console') steps.push(...consoleSteps(body, i + 2, section));
      else if (body.some((l) => new RegExp(AWS.source).test(l))) {
        throw new Error(`line ${i + 1}: an aws command in a \`${lang}\` block, which is not read as shell`);
      }
      i = end;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      section = heading[1]!;
      continue;
    }
    for (const span of line.matchAll(/`([^`]+)`/g)) {
      steps.push(...commandsIn(span[1]!, 'prose', section, i + 1));
    }
  }
  return steps;
}

/** The `aws` commands of `markdown`. */
export function awsCommands(markdown: string): AwsCommand[] {
  return docSteps(markdown).filter((s): s is AwsCommand => s.kind === 'aws');
}

function closingFence(lines: readonly string[], from: number, ticks: string): number {
  for (let i = from; i < lines.length; i++) {
    if (lines[i]!.trim() === ticks) return i;
  }
  throw new Error(`line ${from}: a code block that is never closed`);
}

/** The steps of a shell script whose first line is Markdown line `firstLine`. */
export function scriptSteps(body: readonly string[], firstLine: number, section: string): DocStep[] {
  const steps: DocStep[] = [];
  for (let i = 0; i < body.length; i++) {
    const line = firstLine + i;
    let text = body[i]!;
    while (text.endsWith('\\') && i + 1 < body.length) text = text.slice(0, -1) + body[++i];
    const heredoc = /<<(-?)\s*(['"]?)([A-Za-z_]\w*)\2/.exec(text);
    let script = text;
    if (heredoc) {
      const end = body.findIndex((l, j) => j > i && (heredoc[1] ? l.replace(/^\t+/, '') : l) === heredoc[3]);
      if (end < 0) throw new Error(`line ${line}: here-document ${heredoc[3]} is never closed`);
      script = [text, ...body.slice(i + 1, end + 1)].join('\n');
      i = end;
    }
    steps.push(...statementSteps(text, script, section, line));
  }
  return steps;
}

/** The steps of a `console` block: its `$ ` lines (and their continuations); the rest is output. */
export function consoleSteps(body: readonly string[], firstLine: number, section: string): DocStep[] {
  const steps: DocStep[] = [];
  for (let i = 0; i < body.length; i++) {
    const line = firstLine + i;
    if (!body[i]!.startsWith('$ ')) continue;
    let text = body[i]!.slice(2);
    while (text.endsWith('\\') && i + 1 < body.length) text = text.slice(0, -1) + body[++i];
    steps.push(...statementSteps(text, text, section, line));
  }
  return steps;
}

function statementSteps(text: string, script: string, section: string, line: number): DocStep[] {
  const at = commentStart(text);
  const code = text.slice(0, at);
  const commands = commandsIn(code, 'block', section, line);
  const steps: DocStep[] = [...commands];
  const assigned = new Set(commands.map((c) => c.assigns));
  for (const { name, value } of assignments(code)) {
    if (assigned.has(name)) continue;
    steps.push({ kind: 'assign', section, line, name, ...(value === undefined ? {} : { value }) });
  }
  const file = /^\s*cat\s*>\s*(\S+)\s*<</.exec(code);
  if (file && script !== text) steps.push({ kind: 'file', section, line, path: file[1]!, script });
  steps.push(...commandsIn(text.slice(at), 'comment', section, line));
  return steps;
}

/** The `aws` commands that start in `text`, nested ones included. */
export function commandsIn(text: string, origin: Origin, section: string, line: number): AwsCommand[] {
  const out: AwsCommand[] = [];
  for (const m of text.matchAll(AWS)) {
    const start = m.index + m[1]!.length;
    const end = commandEnd(text, start);
    const waiter = m[3] === 'wait' ? /^\s+([a-z0-9-]+)/.exec(text.slice(m.index + m[0].length)) : null;
    const operation = waiter ? `${m[2]} wait ${waiter[1]}` : `${m[2]} ${m[3]}`;
    const prefix = /(?:^|\s)(?:export\s+)?([A-Za-z_]\w*)=\$\($/.exec(text.slice(0, start));
    const closesWord = text[end] === ')' && /^\)(\s|$)/.test(text.slice(end));
    out.push({
      kind: 'aws',
      section,
      line,
      origin,
      text: text.slice(start, end).trim(),
      operation,
      ...(prefix && closesWord ? { assigns: prefix[1]! } : {}),
    });
  }
  return out;
}

type Context = '(' | '"' | "'";

/**
 * Walks shell text from `start`, keeping track of quotes and `$(…)`, and calls `stop` at each character
 * outside all of them; returns the first index where `stop` says so (or the text's length). An unmatched `)`
 * always stops.
 */
function scan(text: string, start: number, stop: (i: number) => boolean): number {
  const stack: Context[] = [];
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    const top = stack.at(-1);
    if (top === "'") {
      if (c === "'") stack.pop();
      continue;
    }
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '$' && text[i + 1] === '(') {
      stack.push('(');
      i++;
      continue;
    }
    if (top === '"') {
      if (c === '"') stack.pop();
      continue;
    }
    if (c === "'" || c === '"' || c === '(') {
      stack.push(c);
      continue;
    }
    if (c === ')') {
      if (top === '(') {
        stack.pop();
        continue;
      }
      return i;
    }
    if (stack.length === 0 && stop(i)) return i;
  }
  return text.length;
}

/** Where the command starting at `start` ends: `;`, `&`, `&&`, `||`, a comment, a backtick, `)` or the end. */
export function commandEnd(text: string, start: number): number {
  return scan(text, start, (i) => {
    const c = text[i]!;
    if (c === '`' || c === ';' || c === '&' || c === '\n') return true;
    if (c === '|') return text[i + 1] === '|';
    return c === '#' && /\s/.test(text[i - 1] ?? ' ');
  });
}

/** Where the comment of a shell line starts (its length when it has none). */
export function commentStart(text: string): number {
  return scan(text, 0, (i) => text[i] === '#' && (i === 0 || /\s/.test(text[i - 1]!)));
}

/** The words of shell text, split at whitespace outside quotes and `$(…)`. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let from = 0;
  while (from < text.length) {
    while (from < text.length && /\s/.test(text[from]!)) from++;
    if (from >= text.length) break;
    const end = scan(text, from, (i) => /\s/.test(text[i]!));
    words.push(text.slice(from, end));
    from = end === from ? end + 1 : end;
  }
  return words;
}

/** The `NAME=VALUE` words of an assignment statement (`[export] A=1 B=2`); none for any other command. */
export function assignments(code: string): { name: string; value?: string }[] {
  const words = shellWords(code);
  if (words[0] === 'export') words.shift();
  const out: { name: string; value?: string }[] = [];
  for (const word of words) {
    const m = /^([A-Za-z_]\w*)=(.*)$/s.exec(word);
    if (!m) return [];
    const value = m[2]!;
    out.push({ name: m[1]!, ...(/\$\(|`/.test(value) ? {} : { value }) });
  }
  return out;
}

/** The short id of a section (`4a` for `4a. EKS Pod Identity`), or its whole title when it has no number. */
export function sectionId(section: string): string {
  return /^(\d+[a-z]?)\.\s/.exec(section)?.[1] ?? section;
}
