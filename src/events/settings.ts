import type { MotionSettingsBody } from '../protocol/index.js';

/** A camera's motion settings (the body of a `motion-settings` message; see docs/EVENTS.md). */
export type MotionSettings = MotionSettingsBody['settings'] & {};

/** A point in normalised picture coordinates: (0, 0) top left, (1, 1) bottom right, whatever the resolution. */
export type Point = readonly [number, number];
export type Polygon = readonly Point[];

export const DEFAULT_MOTION_SETTINGS: MotionSettings = { enabled: true, sensitivity: 50, zones: [], masks: [] };

/** What a sensitivity (0..100) means for the detector: a lower pixel threshold and a smaller area as it rises. */
export function thresholdsOf(sensitivity: number): { pixel: number; minArea: number } {
  const s = Math.min(100, Math.max(0, sensitivity)) / 100;
  // 50 -> 30 grey levels (Frigate's default threshold) and 0.7 % of the watched area (an 11x11 patch at 176x100);
  // 0 -> 50 levels and 4 %; 100 -> 10 levels and 0.05 %.
  return { pixel: Math.round(50 - 40 * s), minArea: Math.max(0.0005, 0.04 * (1 - s) ** 2.5) };
}

/**
 * The pixels of a `width` x `height` frame the detector watches: inside a zone (or anywhere when there is none) and
 * outside every mask. Pixel centres are tested against the polygons (even-odd rule).
 */
export function activeMap(width: number, height: number, settings: Pick<MotionSettings, 'zones' | 'masks'>): Uint8Array {
  const map = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const py = (y + 0.5) / height;
    for (let x = 0; x < width; x++) {
      const px = (x + 0.5) / width;
      const inZone = settings.zones.length === 0 || settings.zones.some((p) => inside(p, px, py));
      map[y * width + x] = inZone && !settings.masks.some((p) => inside(p, px, py)) ? 1 : 0;
    }
  }
  return map;
}

/** Even-odd ray casting. */
function inside(polygon: Polygon, x: number, y: number): boolean {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}
