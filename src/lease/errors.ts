/** Expected lease failures; the API layer maps them to etcd's codes and texts. */
export class LeaseNotFoundError extends Error {
  override name = 'LeaseNotFoundError';
  constructor() {
    super('lease not found');
  }
}

export class LeaseExistsError extends Error {
  override name = 'LeaseExistsError';
  constructor() {
    super('lease already exists');
  }
}

export class LeaseTtlTooLargeError extends Error {
  override name = 'LeaseTtlTooLargeError';
  constructor() {
    super('too large lease TTL');
  }
}
