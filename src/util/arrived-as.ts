/**
 * The bytes a decoded protobuf message arrived as, kept on the decoded object. A member that puts
 * a client's request into a log entry copies these instead of encoding the object again (which
 * cost a converted object and an encoding per write). The object must not change once they are
 * kept: the bytes would no longer say what it does. A copy made by spreading leaves them behind.
 */
const ARRIVED_AS = Symbol('arrived as');

export function keepArrivedAs<T extends object>(message: T, bytes: Uint8Array): T {
  Object.defineProperty(message, ARRIVED_AS, { value: bytes, enumerable: false });
  return message;
}

export function arrivedAs(message: object): Uint8Array | undefined {
  return (message as { [ARRIVED_AS]?: Uint8Array })[ARRIVED_AS];
}
