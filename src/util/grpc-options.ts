/**
 * gRPC channel and server options every Keel endpoint shares. Channelz, grpc-js's live call and
 * socket registry for its admin service, is on by default and bookkeeps every call; nothing of
 * ours serves channelz, so it is off.
 */
export const NO_CHANNELZ = { 'grpc.enable_channelz': 0 } as const;
