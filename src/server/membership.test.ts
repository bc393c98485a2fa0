import assert from 'node:assert/strict';
import { urlProblem } from './membership';

// etcd client/pkg/types/urls.go NewURLs, for the http and https schemes.
describe('urlProblem (etcd\'s rules for member and flag URLs)', () => {
  const accepted = [
    'http://127.0.0.1:2380', 'https://keel-0.keel-peer:2380', 'http://[::1]:2380', 'http://10.0.0.9:80',
    'https://10.0.0.9:443', 'http://user:pw@10.0.0.9:2380', 'http://10.0.0.9:2380?x=1',
  ];
  for (const url of accepted) it(`accepts ${url}`, () => assert.equal(urlProblem(url), undefined));

  const refused: Array<[string, string]> = [
    ['10.0.0.9:2380', '"10.0.0.9:2380" is not a URL'],
    ['localhost:2380', 'URL scheme must be http or https: "localhost:2380"'],
    ['unix://sock:1', 'URL scheme must be http or https: "unix://sock:1"'],
    ['not a url', '"not a url" is not a URL'],
    ['http://10.0.0.9', 'URL address does not have the form "host:port": http://10.0.0.9'],
    ['http://[::1]', 'URL address does not have the form "host:port": http://[::1]'],
    ['http://10.0.0.9:2380/', 'URL must not contain a path: http://10.0.0.9:2380/'],
    ['http://10.0.0.9:2380/raft', 'URL must not contain a path: http://10.0.0.9:2380/raft'],
  ];
  for (const [url, problem] of refused) it(`refuses ${url}`, () => assert.equal(urlProblem(url), problem));
});
