/**
 * gRPC channel options every Keel client channel shares. Channelz, grpc-js's live call and socket
 * registry for its admin service, is on by default and bookkeeps every call; nothing of ours
 * serves channelz, so our channels leave it off. Our servers keep it on: grpc-js 1.14 tracks a
 * server's sessions only while channelz is on, so without it forceShutdown() left open streams
 * (watches, lease keep-alives) running and a member told to stop never did.
 */
export const NO_CHANNELZ = { 'grpc.enable_channelz': 0 } as const;
