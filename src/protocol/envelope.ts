import * as v from 'valibot';
import { DEVICE_ID_PATTERN } from './ids.js';

/** Protocol version carried in every envelope, topic and TXT record. */
export const PROTOCOL_VERSION = 1;
/** Largest sealed payload a receiver accepts (DESIGN: 64 KiB). */
export const MAX_SEALED_BYTES = 64 * 1024;
/** Largest clock difference accepted between sender and receiver. */
export const MAX_SKEW_MS = 60_000;

/** A device's role in a room. */
export type Role = 'camera' | 'viewer' | 'hub';
/** A recipient of `*` means every member of the room (presence, bye). */
export const BROADCAST = '*';

const id = v.pipe(v.string(), v.regex(DEVICE_ID_PATTERN));
/** A query lists at most this many members it already knows (17 bytes each in the JSON: ~17 KiB, under 64 KiB sealed). */
export const MAX_QUERY_KNOWN = 1000;
const shortText = (max: number) => v.pipe(v.string(), v.maxLength(max));

const Candidate = v.object({
  candidate: shortText(1024),
  mid: shortText(64),
});

/** One STUN/TURN server as RTCIceServer has it (TURN credentials short-lived where the owner set a REST secret). */
const IceServerSchema = v.object({
  urls: v.union([shortText(512), v.pipe(v.array(shortText(512)), v.minLength(1), v.maxLength(4))]),
  username: v.optional(shortText(256)),
  credential: v.optional(shortText(256)),
});

/** ICE servers a device lends to the members it talks to: sealed like every presence, never on the broker in clear. */
const IceAdvert = v.object({
  servers: v.pipe(v.array(IceServerSchema), v.maxLength(8)),
  /** 'relay': the owner wants pages to use relays only (`peercam up --relay`). */
  policy: v.optional(v.picklist(['all', 'relay'])),
});

const SourceInfo = v.object({ id: shortText(64), name: shortText(128), kinds: v.array(v.picklist(['video', 'audio'])) });

const Presence = v.object({
  name: shortText(128),
  role: v.picklist(['camera', 'viewer', 'hub']),
  /** Media this device offers (cameras). */
  sources: v.optional(v.array(SourceInfo)),
  /** Cameras: whether viewers' talk-back is played (false: a Node camera without --speaker). Absent: unknown, assumed. */
  talkBack: v.optional(v.boolean()),
  /** Software that sent it, e.g. `peercam/0.1.0 node`. */
  agent: v.optional(shortText(128)),
  /** STUN/TURN servers the owner configured on this device (hubs, cameras); optional, older devices omit it. */
  ice: v.optional(IceAdvert),
  /**
   * Recorders: whether recordings are being written. `state` 'ok', or why not ('full', 'read-only', 'failed'; free
   * text, so that a newer recorder's state does not make older members drop its presence); `error` what to do.
   */
  recording: v.optional(
    v.object({
      state: shortText(32),
      error: v.optional(shortText(512)),
      /** The cameras (their names) it receives now, at most 64. */
      cameras: v.optional(v.pipe(v.array(shortText(128)), v.maxLength(64))),
    }),
  ),
});

const unit = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
/** A polygon in normalised picture coordinates ((0,0) top left, (1,1) bottom right). */
const PolygonSchema = v.pipe(v.array(v.tuple([unit, unit])), v.minLength(3), v.maxLength(64));
const MotionSettingsSchema = v.object({
  enabled: v.boolean(),
  /** 0..100: higher finds smaller and fainter changes. */
  sensitivity: v.pipe(v.number(), v.minValue(0), v.maxValue(100)),
  /** Where to look; none: the whole picture. */
  zones: v.pipe(v.array(PolygonSchema), v.maxLength(16)),
  /** Where never to look (a tree, a road, a clock). */
  masks: v.pipe(v.array(PolygonSchema), v.maxLength(16)),
});
const BoxSchema = v.object({ x: unit, y: unit, w: unit, h: unit });
/** Longest burst a viewer may ask for in its offer (`batchMs`). */
export const MAX_BATCH_MS = 1000;
/** Largest snapshot (base64 JPEG) in a motion message: keeps the sealed message under 64 KiB. */
export const MAX_SNAPSHOT_CHARS = 40 * 1024;

const bodies = {
  presence: Presence,
  bye: v.object({ reason: v.optional(shortText(256)) }),
  /**
   * "Who is here?": broadcast (not retained) by a device that joins or comes back, for brokers whose retained presence
   * does not reach it (RabbitMQ clusters, brokers without retain). Members not in `known` answer with `here`, except
   * that viewers do not answer a viewer (`role`): a viewer needs cameras, which hear of it by its live presence.
   */
  query: v.object({ known: v.optional(v.pipe(v.array(id), v.maxLength(MAX_QUERY_KNOWN))), role: v.optional(v.picklist(['camera', 'viewer', 'hub'])) }),
  /** A member's answer to a `query`: its presence, sent to the asker's inbox. */
  here: Presence,
  offer: v.object({
    sdp: shortText(48 * 1024),
    /** Negotiation number within the session; an ICE restart offer has a higher one. */
    gen: v.pipe(v.number(), v.integer(), v.minValue(0)),
    source: v.optional(shortText(64)),
    /**
     * The viewer takes its media in bursts of at most this many ms (a recorder: it needs no low latency, and fewer
     * wake-ups cost it less CPU). A camera that can holds the viewer's RTP and sends it together; absent or 0: live
     * pacing. Older cameras drop the field (v.object strips unknown keys) and send live.
     */
    batchMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_BATCH_MS))),
  }),
  answer: v.object({
    sdp: shortText(48 * 1024),
    gen: v.pipe(v.number(), v.integer(), v.minValue(0)),
    /** The camera can restart ICE on the same connection; otherwise a restart offer gets a fresh connection. */
    restartable: v.optional(v.boolean()),
  }),
  candidates: v.object({
    gen: v.pipe(v.number(), v.integer(), v.minValue(0)),
    ufrag: v.optional(shortText(256)),
    candidates: v.pipe(v.array(Candidate), v.maxLength(64)),
    /** The sender finished gathering: no more candidates for this generation. */
    done: v.optional(v.boolean()),
  }),
  /** Camera asks the viewer to re-offer with an ICE restart (only viewers offer: no glare). */
  restart: v.object({
    reason: shortText(256),
    /**
     * The generation whose connection failed at the camera. A viewer that has already offered a later one (it saw the
     * same failure) ignores the request. Older cameras send none: the viewer re-offers.
     */
    gen: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  }),
  hangup: v.object({ reason: shortText(256) }),
  error: v.object({ code: shortText(64), message: shortText(1024) }),
  /**
   * A camera saw motion start or end (docs/EVENTS.md), sent to every member's inbox. `event` names the event (the same
   * in its start and end), `at` is when this phase happened, `startedAt` when the motion began (ms since the epoch).
   */
  motion: v.object({
    event: shortText(64),
    source: shortText(64),
    phase: v.picklist(['start', 'end']),
    at: v.pipe(v.number(), v.safeInteger()),
    startedAt: v.pipe(v.number(), v.safeInteger()),
    /** Largest share of the watched area that changed (0..1). */
    score: unit,
    /** Where it changed, normalised (the union over the event at its end). */
    box: BoxSchema,
    /** A small JPEG at the start, base64. */
    snapshot: v.optional(v.pipe(v.string(), v.maxLength(MAX_SNAPSHOT_CHARS))),
  }),
  /**
   * A camera's motion settings. To a camera: without `settings` asks for them, with them sets them (any member may).
   * From a camera: its settings now, the answer to either.
   */
  'motion-settings': v.object({ settings: v.optional(MotionSettingsSchema) }),
} as const;

/** The message types of protocol v1 (docs/PROTOCOL.md). */
export type MessageType = keyof typeof bodies;
/** The validated body of an envelope of type `T`. */
export type Body<T extends MessageType> = v.InferOutput<(typeof bodies)[T]>;
/** What a device says about itself in its sealed presence: name, role, sources, agent, lent ICE servers. */
export type PresenceBody = Body<'presence'>;

/** Whether a device's presence lists a source with sound (a camera with a microphone or an audio track). */
export function sendsAudio(presence: Pick<PresenceBody, 'sources'>): boolean {
  return presence.sources?.some((s) => s.kinds.includes('audio')) ?? false;
}
/** One ICE candidate as signaled: its SDP line and media id. */
export type CandidateInit = v.InferOutput<typeof Candidate>;
/** ICE servers a device lends in its sealed presence. */
export type IceAdvertBody = v.InferOutput<typeof IceAdvert>;
/** A camera's motion event (start or end: time, score, box, snapshot), sealed to every member (docs/EVENTS.md). */
export type MotionBody = Body<'motion'>;
/** A member reading or changing a camera's motion settings (on/off, sensitivity, zones, masks). */
export type MotionSettingsBody = Body<'motion-settings'>;

const header = {
  v: v.literal(PROTOCOL_VERSION),
  from: id,
  to: v.union([id, v.literal(BROADCAST)]),
  sid: shortText(64),
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  ts: v.pipe(v.number(), v.safeInteger()),
};

const msg = <T extends MessageType>(type: T) => v.object({ ...header, type: v.literal(type), body: bodies[type] });
const EnvelopeSchema = v.variant('type', [
  msg('presence'),
  msg('bye'),
  msg('query'),
  msg('here'),
  msg('offer'),
  msg('answer'),
  msg('candidates'),
  msg('restart'),
  msg('hangup'),
  msg('error'),
  msg('motion'),
  msg('motion-settings'),
]);

interface EnvelopeHeader {
  v: typeof PROTOCOL_VERSION;
  from: string;
  to: string;
  sid: string;
  seq: number;
  ts: number;
}
/** The plaintext of every sealed message. */
export type Envelope = { [T in MessageType]: EnvelopeHeader & { type: T; body: Body<T> } }[MessageType];
/** The envelope of one message type. */
export type EnvelopeOf<T extends MessageType> = Extract<Envelope, { type: T }>;

/** Validates a parsed JSON value; returns the envelope, `'unknown-version'` or `'malformed'`. */
export function parseEnvelope(value: unknown): Envelope | 'unknown-version' | 'malformed' {
  if (typeof value === 'object' && value !== null && 'v' in value && value.v !== PROTOCOL_VERSION) return 'unknown-version';
  const r = v.safeParse(EnvelopeSchema, value);
  return r.success ? (r.output as Envelope) : 'malformed';
}
