/** A VS Code-styled drop-down (the mode and model pickers): a button that shows the whole choice
 * and opens a list of options, each with an optional one-line description. Keyboard: Enter,
 * Space or the arrows open it, the arrows move, Enter picks, Escape closes. The value is on the
 * button as `data-value`. */
import { h, icon } from './dom';

export interface PickerOption {
  value: string;
  label: string;
  detail?: string;
  icon?: string;
}

export interface PickerSpec {
  id: string;
  label: string;
  title: string;
  options: PickerOption[];
  value: string;
  disabled?: boolean;
  /** Shown on the button when no option has the value. */
  placeholder?: string;
  onPick(value: string): void;
}

export function picker(spec: PickerSpec): HTMLElement {
  const current = spec.options.find((o) => o.value === spec.value);
  const button = h(
    'button',
    { id: spec.id, className: 'picker-button', title: spec.title, 'aria-label': `${spec.label}: ${current?.label ?? spec.placeholder ?? ''}`, 'aria-haspopup': 'listbox', 'aria-expanded': 'false', 'data-value': spec.value, disabled: spec.disabled || undefined },
    current?.icon ? icon(current.icon) : null,
    h('span', { className: 'picker-label' }, current?.label ?? spec.placeholder ?? ''),
    icon('chevron-down'),
  );
  const list = h('ul', { id: `${spec.id}-list`, className: 'picker-list', role: 'listbox', 'aria-label': spec.label });
  list.hidden = true;
  const root = h('div', { className: 'picker' }, button, list);
  let active = Math.max(0, spec.options.indexOf(current!));

  const options = spec.options.map((option, i) => {
    const li = h(
      'li',
      { role: 'option', id: `${spec.id}-option-${i}`, 'data-value': option.value, 'aria-selected': option.value === spec.value ? 'true' : 'false' },
      h('span', { className: 'picker-option-label' }, option.icon ? icon(option.icon) : null, h('span', {}, option.label), option.value === spec.value ? icon('check') : null),
      option.detail ? h('span', { className: 'picker-option-detail' }, option.detail) : null,
    );
    li.addEventListener('mousedown', (e) => e.preventDefault()); // keep the focus on the button
    li.addEventListener('click', () => pick(i));
    li.addEventListener('mousemove', () => highlight(i));
    return li;
  });
  list.append(...options);

  function highlight(i: number): void {
    active = i;
    options.forEach((li, j) => li.classList.toggle('active', j === i));
    button.setAttribute('aria-activedescendant', `${spec.id}-option-${i}`);
    options[i]?.scrollIntoView({ block: 'nearest' });
  }
  function open(): void {
    if (spec.disabled || !options.length) return;
    list.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    highlight(active);
    document.addEventListener('mousedown', outside, true);
  }
  function close(): void {
    list.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    button.removeAttribute('aria-activedescendant');
    document.removeEventListener('mousedown', outside, true);
  }
  function outside(e: Event): void {
    if (!root.contains(e.target as Node)) close();
  }
  function pick(i: number): void {
    close();
    const option = spec.options[i];
    if (option && option.value !== spec.value) spec.onPick(option.value);
  }

  button.addEventListener('click', () => (list.hidden ? open() : close()));
  button.addEventListener('blur', close);
  // Space works on keydown here; its default click on keyup would toggle the list again.
  button.addEventListener('keyup', (e) => e.key === ' ' && e.preventDefault());
  button.addEventListener('keydown', (e) => {
    const n = options.length;
    if (list.hidden) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp' || e.key === ' ') {
        e.preventDefault();
        open();
      }
      return;
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      highlight((active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      pick(active);
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      if (e.key === 'Escape') e.preventDefault();
      close();
    }
  });
  return root;
}
