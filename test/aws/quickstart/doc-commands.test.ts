import { describe, expect, test } from 'vitest';
import { parseCliArgs } from './cli-args.ts';
import { awsCommands, commandEnd, commentStart, docSteps, sectionId, shellWords } from './doc-commands.ts';

const md = (...lines: string[]) => lines.join('\n');
const fence = '```';

describe('docSteps', () => {
  test('joins continuations and keeps the whole pipeline', () => {
    const [c] = awsCommands(
      md(
        '## 6. Install',
        `${fence}sh`,
        `VPC_CIDRS=$(aws ec2 describe-vpcs --vpc-ids "$VPC" \\`,
        `  --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock' --output text | tr '\\t' ',')`,
        fence,
      ),
    );
    expect(c).toEqual({
      kind: 'aws',
      section: '6. Install',
      line: 3,
      origin: 'block',
      text: `aws ec2 describe-vpcs --vpc-ids "$VPC"   --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock' --output text | tr '\\t' ','`,
      operation: 'ec2 describe-vpcs',
      assigns: 'VPC_CIDRS',
    });
  });

  test('finds nested substitutions, the outer one whole', () => {
    const cs = awsCommands(
      md(
        `${fence}sh`,
        `export ROLE=$(aws eks describe-nodegroup --nodegroup-name "$(aws eks list-nodegroups --query 'x[0]' --output text)" --output text)`,
        fence,
      ),
    );
    expect(cs.map((c) => [c.operation, c.assigns])).toEqual([
      ['eks describe-nodegroup', 'ROLE'],
      ['eks list-nodegroups', undefined],
    ]);
    expect(cs[0]!.text).toBe(
      `aws eks describe-nodegroup --nodegroup-name "$(aws eks list-nodegroups --query 'x[0]' --output text)" --output text`,
    );
    expect(cs[1]!.text).toBe(`aws eks list-nodegroups --query 'x[0]' --output text`);
  });

  test('finds commands in comments, prose and console blocks, and none in here-documents', () => {
    const steps = docSteps(
      md(
        'See `aws ec2 describe-instance-types --instance-types m6i.large` for the limit, and `aws-node`.',
        `${fence}sh`,
        `# skip if \`aws iam list-open-id-connect-providers\` shows it (the cluster's own)`,
        `cat > trust.json <<'EOF'`,
        `{ "note": "aws iam delete-role --role-name x" }`,
        'EOF',
        `aws iam create-role --role-name r --assume-role-policy-document file://trust.json   # the role`,
        fence,
        `${fence}console`,
        `$ aws ec2 describe-network-interfaces \\`,
        `    --output text`,
        'eni-1 i-1',
        fence,
      ),
    );
    expect(steps.map((s) => (s.kind === 'aws' ? `${s.origin} ${s.text}` : `${s.kind} ${s.line}`))).toEqual([
      'prose aws ec2 describe-instance-types --instance-types m6i.large',
      'comment aws iam list-open-id-connect-providers',
      'file 4',
      'block aws iam create-role --role-name r --assume-role-policy-document file://trust.json',
      'block aws ec2 describe-network-interfaces     --output text',
    ]);
    const file = steps.find((s) => s.kind === 'file');
    expect(file).toMatchObject({ path: 'trust.json' });
    expect(file?.kind === 'file' && file.script.split('\n')).toEqual([
      `cat > trust.json <<'EOF'`,
      `{ "note": "aws iam delete-role --role-name x" }`,
      'EOF',
    ]);
  });

  test('reads assignments: literal values, and none for a value a command computes', () => {
    const steps = docSteps(
      md(
        `${fence}sh`,
        'export A=1 B="two words"   # a comment',
        'NODE=$(kubectl get x)',
        'kubectl get y',
        fence,
      ),
    );
    expect(steps).toEqual([
      { kind: 'assign', section: '', line: 2, name: 'A', value: '1' },
      { kind: 'assign', section: '', line: 2, name: 'B', value: '"two words"' },
      { kind: 'assign', section: '', line: 3, name: 'NODE' },
    ]);
  });

  test('names a waiter by its wait', () => {
    expect(
      awsCommands(md(`${fence}sh`, 'aws eks wait nodegroup-active --cluster-name c', fence))[0]?.operation,
    ).toBe('eks wait nodegroup-active');
  });

  test('refuses an aws command in a block it does not read as shell', () => {
    expect(() => docSteps(md(`${fence}yaml`, 'run: aws ec2 describe-vpcs', fence))).toThrow(/yaml/);
  });
});

describe('shell text', () => {
  test('a command ends at ;, &&, ||, &, a comment, a backtick or an unmatched )', () => {
    for (const tail of [' ; x', ' && x', ' || x', ' & x', ' # x', ' ` x', ' ) x']) {
      expect(commandEnd(`aws a b "c;d" '#e'${tail}`, 0)).toBe(`aws a b "c;d" '#e'`.length + 1);
    }
    expect(commandEnd('aws a b | tr x y', 0)).toBe('aws a b | tr x y'.length);
  });

  test('a comment starts at an unquoted # that starts a word', () => {
    expect(commentStart(`echo "#no" '#no' a#no # yes`)).toBe(`echo "#no" '#no' a#no `.length);
  });

  test('words split at whitespace outside quotes and substitutions', () => {
    expect(shellWords(`a "b c" 'd e' $(f g) h`)).toEqual(['a', '"b c"', "'d e'", '$(f g)', 'h']);
  });

  test('section ids', () => {
    expect(sectionId('4a. EKS Pod Identity (simplest)')).toBe('4a');
    expect(sectionId('Option: egress IPs on a dedicated ENI')).toBe('Option: egress IPs on a dedicated ENI');
  });
});

describe('parseCliArgs', () => {
  test('gives each option its values', () => {
    const args = parseCliArgs(['eks', 'create-nodegroup', '--subnets', 's1', 's2', '--labels', 'a=b']);
    expect([args.service, args.operation]).toEqual(['eks', 'create-nodegroup']);
    expect(args.options.get('--subnets')).toEqual(['s1', 's2']);
    expect(args.one('--labels')).toBe('a=b');
    expect(() => args.one('--subnets')).toThrow(/2 values/);
    expect(() => args.one('--missing')).toThrow(/0 values/);
  });
});
