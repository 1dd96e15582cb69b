export { opusSample, RtpClock, VideoAssembler, type VideoConfig, type VideoFrame } from './assembler.js';
export { readLayout, repairSegment, type SegmentLayout } from './boxes.js';
export { CameraRecorder, type CameraRecorderOptions, type DiskGate } from './camera-recorder.js';
export { buildClip, type Clip, readClip } from './clip.js';
export { DiskGuard, type DiskState } from './disk.js';
export { diskSpace, Retention, type RetentionPolicy } from './retention.js';
export { SegmentFile, type SegmentTracks } from './segment-file.js';
export { listCameras, listSegments, repairUnfinished, type SegmentInfo } from './store.js';
export { parseDuration, parseMinFree, parseSize } from './units.js';
