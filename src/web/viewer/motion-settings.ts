import type { DeviceId } from '../../protocol/index.js';
import type { MotionSettings, Point } from '../../events/settings.js';
import type { Channel } from '../../signaling/channel.js';
import { h } from '../lib/dom.js';

type Shape = { kind: 'zone' | 'mask'; points: Point[] };

/**
 * A camera's motion settings in a dialog: on/off, sensitivity, and zones/masks drawn on a still of its picture
 * (click to add corners, "Finish shape" closes one). Read from and sent to the camera as sealed `motion-settings`
 * messages; the camera keeps them.
 */
export class MotionSettingsDialog {
  readonly el: HTMLDialogElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly enabled: HTMLInputElement;
  private readonly sensitivity: HTMLInputElement;
  private readonly kind: HTMLSelectElement;
  private readonly status: HTMLElement;
  private readonly title: HTMLElement;
  private camera: DeviceId | undefined;
  private shapes: Shape[] = [];
  private drawing: Point[] = [];
  private still: HTMLCanvasElement | undefined;

  constructor(private readonly channel: Channel) {
    this.canvas = h('canvas', { width: 480, height: 270, class: 'motion-canvas', id: 'motion-canvas' });
    this.canvas.addEventListener('click', (e) => this.addPoint(e));
    this.enabled = h('input', { type: 'checkbox', id: 'motion-enabled' });
    this.sensitivity = h('input', { type: 'range', min: 0, max: 100, step: 1, id: 'motion-sensitivity' });
    this.kind = h('select', { id: 'motion-kind' }, h('option', { value: 'mask' }, 'Mask (ignore here)'), h('option', { value: 'zone' }, 'Zone (only look here)'));
    this.status = h('p', { class: 'hint', id: 'motion-status' });
    this.title = h('h2', {}, 'Motion settings');
    this.el = h(
      'dialog',
      { class: 'motion-dialog', id: 'motion-dialog' },
      this.title,
      h('label', {}, this.enabled, ' Detect motion'),
      h('label', {}, 'Sensitivity ', this.sensitivity),
      h('div', { class: 'shape-tools' }, this.kind, h('button', { type: 'button', id: 'motion-finish', onclick: () => this.finishShape() }, 'Finish shape'), h('button', { type: 'button', id: 'motion-clear', onclick: () => this.clear() }, 'Clear shapes')),
      this.canvas,
      h('p', { class: 'hint' }, 'Click on the picture to place the corners of a shape. Masks hide moving trees, roads or screens; with zones, only they are watched.'),
      this.status,
      h('div', { class: 'dialog-buttons' }, h('button', { type: 'button', onclick: () => this.el.close() }, 'Cancel'), h('button', { type: 'button', class: 'primary', id: 'motion-save', onclick: () => void this.save() }, 'Save')),
    );
    channel.on('message', (e) => {
      if (e.type === 'motion-settings' && e.from === this.camera && e.body.settings) this.show(e.body.settings);
    });
  }

  /** Opens for `camera`, with a still of `video` to draw on, and asks the camera for its settings. */
  open(camera: DeviceId, name: string, video: HTMLVideoElement | undefined): void {
    this.camera = camera;
    this.title.textContent = `Motion settings: ${name}`;
    this.status.textContent = 'Asking the camera…';
    this.el.dataset.loaded = 'false';
    this.still = undefined;
    if (video && video.videoWidth > 0) {
      const still = h('canvas', { width: this.canvas.width, height: this.canvas.height });
      still.getContext('2d')?.drawImage(video, 0, 0, still.width, still.height);
      this.still = still;
    }
    this.shapes = [];
    this.drawing = [];
    this.draw();
    if (!this.el.open) this.el.showModal();
    void this.channel.send(camera, 'motion-settings', '', {}).catch((err: unknown) => (this.status.textContent = `Not sent: ${String(err)}`));
  }

  private show(s: MotionSettings): void {
    this.enabled.checked = s.enabled;
    this.sensitivity.value = String(s.sensitivity);
    this.shapes = [...s.zones.map((p) => ({ kind: 'zone' as const, points: [...p] })), ...s.masks.map((p) => ({ kind: 'mask' as const, points: [...p] }))];
    this.drawing = [];
    this.el.dataset.loaded = 'true';
    this.status.textContent = `The camera's settings: ${s.enabled ? 'on' : 'off'}, sensitivity ${s.sensitivity}.`;
    this.draw();
  }

  private addPoint(e: MouseEvent): void {
    const box = this.canvas.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
    const y = Math.min(1, Math.max(0, (e.clientY - box.top) / box.height));
    this.drawing.push([x, y]);
    this.draw();
  }

  private finishShape(): void {
    if (this.drawing.length >= 3) this.shapes.push({ kind: this.kind.value === 'zone' ? 'zone' : 'mask', points: this.drawing });
    this.drawing = [];
    this.draw();
  }

  private clear(): void {
    this.shapes = [];
    this.drawing = [];
    this.draw();
  }

  private async save(): Promise<void> {
    if (!this.camera) return;
    this.finishShape();
    const settings: MotionSettings = {
      enabled: this.enabled.checked,
      sensitivity: Number(this.sensitivity.value),
      zones: this.shapes.filter((s) => s.kind === 'zone').map((s) => s.points.map(([x, y]) => [x, y] as [number, number])),
      masks: this.shapes.filter((s) => s.kind === 'mask').map((s) => s.points.map(([x, y]) => [x, y] as [number, number])),
    };
    this.status.textContent = 'Sending…';
    try {
      await this.channel.send(this.camera, 'motion-settings', '', { settings });
      this.status.textContent = 'Sent: the camera confirms below when it has them.';
    } catch (err) {
      this.status.textContent = `Not sent: ${String(err)}`;
    }
  }

  private draw(): void {
    const c = this.canvas.getContext('2d');
    if (!c) return;
    const { width: w, height: hh } = this.canvas;
    c.fillStyle = '#222';
    c.fillRect(0, 0, w, hh);
    if (this.still) c.drawImage(this.still, 0, 0);
    const path = (points: readonly Point[], close: boolean) => {
      c.beginPath();
      for (const [i, [x, y]] of points.entries()) {
        if (i === 0) c.moveTo(x * w, y * hh);
        else c.lineTo(x * w, y * hh);
      }
      if (close) c.closePath();
    };
    for (const s of this.shapes) {
      path(s.points, true);
      c.fillStyle = s.kind === 'mask' ? 'rgba(0,0,0,0.6)' : 'rgba(40,200,120,0.3)';
      c.fill();
      c.strokeStyle = s.kind === 'mask' ? '#f44' : '#3c8';
      c.lineWidth = 2;
      c.stroke();
    }
    if (this.drawing.length > 0) {
      path(this.drawing, false);
      c.strokeStyle = '#ff0';
      c.stroke();
      for (const [x, y] of this.drawing) c.fillRect(x * w - 3, y * hh - 3, 6, 6);
    }
  }
}
