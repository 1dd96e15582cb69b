export { Speaker, type SpeakerEvents, type SpeakerOptions, type SpeakerState } from './speaker.js';
