import assert from 'node:assert/strict';
import { parseTokenFile } from './token-file';

describe('--token-auth-file', () => {
  it('reads token,user,uid and quoted groups, skipping blanks and comments', () => {
    const users = parseTokenFile('# admins\nsecret1,admin,u1,"system:masters,ops"\n\nsecret2,viewer,u2\n');
    assert.deepEqual(users.get('secret1'), { name: 'admin', uid: 'u1', groups: ['system:masters', 'ops'] });
    assert.deepEqual(users.get('secret2'), { name: 'viewer', uid: 'u2', groups: [] });
    assert.equal(users.size, 2);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['too few fields', 'secret,admin', /line 1: want token,user,uid/],
    ['an empty token', ',admin,u1', /line 1: want token,user,uid/],
    ['an unterminated quote', 't,a,u,"g1,g2', /line 1: unterminated quoted field/],
    ['a token used twice', 't,a,u\nt,b,v', /line 2: the token is already used/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what}`, () => assert.throws(() => parseTokenFile(text), message));
  }
});
