/** Keeps the transcript at its newest content while the user is at the bottom, whatever makes it
 * grow (a streamed delta, a card the user expands, an image of code reflowing). Scrolling up
 * stops that, and a "Jump to latest" button offers the way back. */
import { h, icon } from './dom';

/** Closer than this to the end counts as "at the bottom" (sub-pixel rounding, a wheel notch). */
const SLACK_PX = 24;

export class FollowLatest {
  readonly button: HTMLButtonElement;
  private following = true;

  constructor(
    private readonly viewport: HTMLElement,
    content: HTMLElement,
  ) {
    this.button = h('button', { id: 'jump-latest', className: 'jump-latest', title: 'Jump to the latest message', onclick: () => this.jump() }, icon('arrow-down'), ' Jump to latest');
    this.button.hidden = true;
    viewport.addEventListener('scroll', () => {
      this.following = this.distanceToEnd() <= SLACK_PX;
      this.update();
    });
    new ResizeObserver(() => this.settle()).observe(content);
  }

  /** After content changed: back to the end if following, else show the button. */
  settle(): void {
    if (this.following) this.viewport.scrollTop = this.viewport.scrollHeight;
    this.update();
  }

  jump(): void {
    this.following = true;
    this.settle();
  }

  private distanceToEnd(): number {
    return this.viewport.scrollHeight - this.viewport.scrollTop - this.viewport.clientHeight;
  }

  private update(): void {
    this.button.hidden = this.following || this.distanceToEnd() <= SLACK_PX;
  }
}
