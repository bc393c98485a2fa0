import assert from 'node:assert/strict';
import { ServerError } from './errors';
import { Member } from './membership';
import { MembershipState } from './membership-state';

describe('MembershipState.validate', () => {
  const voter: Member = { id: 1n, name: 'm1', peerURLs: ['http://127.0.0.1:2380'], clientURLs: [], isLearner: false };
  const learner: Member = { id: 2n, name: '', peerURLs: ['http://127.0.0.1:2390'], clientURLs: [], isLearner: true };
  const state = () => new MembershipState([voter, learner], undefined);
  const refusal = (change: Parameters<MembershipState['validate']>[0]) => {
    try {
      state().validate(change);
    } catch (err) {
      return (err as ServerError).reason;
    }
    return undefined;
  };

  it('lets the bootstrap entries add a member again as it is listed', () => {
    assert.equal(refusal({ type: 'add', member: voter }), undefined);
    assert.equal(refusal({ type: 'add', member: learner }), undefined);
  });

  it('refuses an add whose ID is in use by a member listed otherwise: other URLs, or a voter for a learner', () => {
    assert.equal(refusal({ type: 'add', member: { ...voter, peerURLs: ['http://127.0.0.1:2399'] } }), 'member-exists');
    assert.equal(refusal({ type: 'add', member: { ...learner, isLearner: false } }), 'member-exists');
  });
});
