import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { SeededRand } from '../../util/rand';

/**
 * Hostile gRPC input for fuzz tests: random messages of a method's request type, often damaged
 * (bytes flipped, cut short, padded, a length field claiming gigabytes), sent raw.
 */

/** Random field values for a message type, nested messages a few levels deep. */
function randomObject(type: protobuf.Type, rand: SeededRand, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (rand.intn(3) === 0) continue;
    const one = () => randomValue(field, rand, depth);
    out[field.name] = field.repeated ? Array.from({ length: rand.intn(4) }, one) : one();
  }
  return out;
}

function randomValue(field: protobuf.Field, rand: SeededRand, depth: number): unknown {
  const resolved = field.resolvedType;
  if (resolved && 'fieldsArray' in resolved) return depth < 3 ? randomObject(resolved as protobuf.Type, rand, depth + 1) : {};
  if (resolved) {
    const values = Object.values((resolved as protobuf.Enum).values);
    return values[rand.intn(values.length)];
  }
  switch (field.type) {
    case 'bool':
      return rand.intn(2) === 0;
    case 'string':
      return randomBytes(rand, rand.intn(20)).toString('latin1');
    case 'bytes':
      // Keys: mostly short, sometimes the "\0" that means every key.
      return rand.intn(5) === 0 ? Buffer.from([0]) : randomBytes(rand, rand.intn(20));
    default:
      // Integers of every size, negative ones and int64 extremes included.
      return [0, 1, -1, rand.intn(1000), 2 ** 31, '9223372036854775807', '-9223372036854775808'][rand.intn(7)];
  }
}

function randomBytes(rand: SeededRand, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => rand.intn(256)));
}

/** A request body: a random message, then often damaged (flipped, cut, padded, a huge length). */
export function fuzzedBody(type: protobuf.Type, rand: SeededRand): Buffer {
  if (rand.intn(4) === 0) return randomBytes(rand, rand.intn(64));
  let body: Buffer;
  try {
    body = Buffer.from(type.encode(type.fromObject(randomObject(type, rand))).finish());
  } catch {
    body = randomBytes(rand, 16); // a value protobufjs will not encode for this field
  }
  switch (rand.intn(5)) {
    case 0:
      return body;
    case 1:
      return Buffer.from(body.map((byte) => (rand.intn(8) === 0 ? rand.intn(256) : byte)));
    case 2:
      return body.subarray(0, rand.intn(body.length + 1));
    case 3:
      return Buffer.concat([body, randomBytes(rand, rand.intn(32))]);
    default:
      // A length-delimited field claiming four gigabytes.
      return Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), body]);
  }
}

/** Sends one raw body to a method (any kind of call) and resolves when the call is over, however it ends. */
export function callRaw(client: grpc.Client, method: grpc.MethodDefinition<unknown, unknown>, body: Buffer, metadata = new grpc.Metadata()): Promise<void> {
  const ser = (b: Buffer) => b;
  const deser = (b: Buffer) => b;
  const options = { deadline: Date.now() + 3000 };
  return new Promise((resolve) => {
    if (!method.requestStream && !method.responseStream) {
      client.makeUnaryRequest(method.path, ser, deser, body, metadata, options, () => resolve());
      return;
    }
    const call = method.requestStream
      ? client.makeBidiStreamRequest(method.path, ser, deser, metadata, options)
      : client.makeServerStreamRequest(method.path, ser, deser, body, metadata, options);
    call.on('data', () => undefined);
    call.on('error', () => resolve());
    call.on('status', () => resolve());
    if (method.requestStream) {
      const duplex = call as grpc.ClientDuplexStream<Buffer, Buffer>;
      duplex.write(body);
      duplex.end();
    }
  });
}

/** The name (without package) of a method's request message, from its loaded definition. */
export function requestTypeName(method: grpc.MethodDefinition<unknown, unknown>): string {
  return (method as unknown as { requestType: { type: { name: string } } }).requestType.type.name;
}
