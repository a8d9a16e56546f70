import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { alwaysAllowResult, commandApprovalMessage, decisionFor, quoteToken, ruleChoices } from '../../src/approvals/rules';
import type { CommandApprovalParams } from '../../src/protocol';

const params: CommandApprovalParams = {
  threadId: 't',
  turnId: 'u',
  itemId: 'i',
  command: 'npm test -- --grep "a b"',
  cwd: '/w',
  sandbox: 'workspaceWrite',
  suggestedRules: [['npm', 'test', '--', '--grep', 'a b'], ['npm', 'test'], ['npm'], []],
  ruleWarnings: { npm: 'npm runs any script of package.json' },
};

describe('ruleChoices', () => {
  it('shows each prefix as the command line it allows, with the server warning', () => {
    const choices = ruleChoices(params);
    assert.deepEqual(choices.map((c) => c.label), ["npm test -- --grep 'a b' …", 'npm test …', 'npm …']);
    assert.equal(choices[2]!.detail, '$(warning) npm runs any script of package.json');
    assert.equal(choices[1]!.detail, undefined);
    assert.deepEqual(choices[1]!.rule, ['npm', 'test']);
  });

  it('marks the rule that is the whole command as exact', () => {
    const [choice] = ruleChoices({ command: 'git status', suggestedRules: [['git', 'status']] });
    assert.equal(choice!.label, 'git status');
    assert.equal(choice!.description, 'this exact command');
  });
});

describe('decisions', () => {
  it('maps buttons to protocol decisions', () => {
    assert.deepEqual(decisionFor('Run'), { decision: 'accept' });
    assert.deepEqual(decisionFor('Run for session'), { decision: 'acceptForSession' });
    assert.deepEqual(decisionFor('Stop'), { decision: 'cancel' });
    assert.deepEqual(decisionFor('Decline'), { decision: 'decline' });
    assert.deepEqual(alwaysAllowResult(['npm', 'test'], 'workspace'), { decision: 'acceptAlways', rule: ['npm', 'test'], scope: 'workspace' });
  });

  it('quotes tokens only when the shell would need it', () => {
    assert.equal(quoteToken('src/a.ts'), 'src/a.ts');
    assert.equal(quoteToken("it's"), `'it'\\''s'`);
    assert.equal(quoteToken(''), "''");
  });

  it('says where the command would run', () => {
    const message = commandApprovalMessage(params);
    assert.match(message, /can write in this folder, no network/);
    assert.doesNotMatch(message, /`|workspace-write|workspaceWrite/, 'no backticks, no internal words');
    assert.match(commandApprovalMessage({ ...params, escalation: 'network' }), /asks for network access/);
  });
});
