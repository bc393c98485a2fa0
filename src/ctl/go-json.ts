import type * as protobuf from 'protobufjs';
import { messageType } from '../wire/etcd-types';
import { goJsonString } from './go-format';

/**
 * etcdctl's `-w json` is Go's encoding/json applied to etcd's generated (gogo) structs: fields in
 * proto order under their proto names, every field `omitempty`, int64 and uint64 as bare numbers,
 * bytes as base64, enums as their numbers, and a oneof as `"GoName":{"GoMemberName":{...}}`.
 * Messages here are proto-loader objects (keepCase, longs as strings, enums as names, oneofs named).
 */
export function goJson(typeName: string, message: object): string {
  return `{${goJsonFields(typeName, message).join(',')}}`;
}

/** The `"name":value` members of a message, for Go structs that embed one (lease responses). */
export function goJsonFields(typeName: string, message: object): string[] {
  return encodeFields(messageType(typeName), message as Record<string, unknown>);
}

function encodeFields(type: protobuf.Type, obj: Record<string, unknown>): string[] {
  const parts: string[] = [];
  const seenOneofs = new Set<string>();
  for (const field of type.fieldsArray) {
    const oneof = field.partOf;
    if (oneof) {
      if (seenOneofs.has(oneof.name)) continue;
      seenOneofs.add(oneof.name);
      // Go has no tag on the interface field, so an unset oneof is null rather than left out.
      const chosen = obj[oneof.name] as string | undefined;
      const member = chosen === undefined ? undefined : type.fields[chosen];
      const inner = member === undefined ? undefined : encodeValue(member, obj[member.name]);
      parts.push(`"${goName(oneof.name)}":${member === undefined ? 'null' : `{"${goName(member.name)}":${inner ?? 'null'}}`}`);
      continue;
    }
    const encoded = field.repeated ? encodeRepeated(field, obj[field.name]) : encodeValue(field, obj[field.name]);
    if (encoded !== undefined) parts.push(`"${field.name}":${encoded}`);
  }
  return parts;
}

function encodeRepeated(field: protobuf.Field, value: unknown): string | undefined {
  const items = value as unknown[] | undefined;
  if (!items || items.length === 0) return undefined;
  return `[${items.map((item) => encodeValue(field, item, true) ?? 'null').join(',')}]`;
}

/** A single value, or undefined when Go's omitempty drops it; `inList` keeps zeros inside arrays. */
function encodeValue(field: protobuf.Field, value: unknown, inList = false): string | undefined {
  if (value === null || value === undefined) return undefined;
  const resolved = field.resolvedType;
  if (resolved && 'fieldsArray' in resolved) return `{${encodeFields(resolved as protobuf.Type, value as Record<string, unknown>).join(',')}}`;
  if (resolved) {
    const n = typeof value === 'number' ? value : (resolved as protobuf.Enum).values[value as string] ?? 0;
    return n === 0 && !inList ? undefined : String(n);
  }
  switch (field.type) {
    case 'bool':
      return value === true ? 'true' : inList ? 'false' : undefined;
    case 'string':
      return value === '' && !inList ? undefined : goJsonString(value as string);
    case 'bytes': {
      const b = value as Uint8Array;
      return b.length === 0 && !inList ? undefined : `"${Buffer.from(b).toString('base64')}"`;
    }
    default: {
      const text = String(value);
      return text === '0' && !inList ? undefined : text;
    }
  }
}

/** protoc-gen-go's CamelCase: response_range → ResponseRange. */
function goName(protoName: string): string {
  return protoName.split('_').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}
