/**
 * The console's publish form: a route, one of its filters with a field per filter field (ctx
 * first, as a publish gives them), the data as JSON, then Publish, Enqueue (with a local queue) or
 * Stop matching. Built once; `update()` follows the routes without touching what is typed.
 */
import { act } from './api';
import { describeResult, h, replaceChildren } from './dom';
import type { ActionResponse, ConsoleView, FilterFieldView, PublishRequest, RouteView } from '../view';

/** The form, and how the rest of the page drives it. */
export interface PublishForm {
  readonly element: HTMLElement;
  update(view: ConsoleView): void;
  /** Fills the route and, when given, a filter with its values. */
  select(path: string, filter?: { readonly name: string; readonly values: readonly FilterFieldView[] }): void;
}

/** A field's text as a filter value: JSON when it parses as a scalar (`42`, `true`, `"42"`), else the text. */
export function fieldValue(text: string): string | number | boolean | null {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return value as string | number | boolean | null;
  } catch {
    // plain text
  }
  return text;
}

/** Creates the form. */
export function createPublishForm(): PublishForm {
  let routes: readonly RouteView[] = [];
  let dataEdited = false;
  const routeSelect = h('select', { 'id': 'route', 'data-testid': 'route-select', 'onChange': () => showRoute(true) });
  const filterSelect = h('select', { 'id': 'filter', 'data-testid': 'filter-select', 'onChange': () => showFields() });
  const fields = h('div', { className: 'fields' });
  const data = h('textarea', { 'id': 'data', 'data-testid': 'data', 'rows': 4, 'spellcheck': 'false', 'onInput': () => (dataEdited = true) });
  const eventId = h('input', { 'id': 'event-id', 'data-testid': 'event-id', 'placeholder': 'tracked routes without a history: the event id' });
  const eventIdRow = h('label', { className: 'row' }, h('span', {}, 'id'), eventId);
  const result = h('p', { 'className': 'action-result', 'data-testid': 'action-result', 'aria-live': 'polite' });
  const enqueueButton = h('button', { 'type': 'button', 'data-testid': 'enqueue', 'hidden': true, 'onClick': () => void send('enqueue') }, 'Enqueue');

  const currentRoute = () => routes.find((route) => route.path === routeSelect.value);

  function showRoute(fillData: boolean): void {
    const route = currentRoute();
    replaceChildren(filterSelect, [
      h('option', { value: '' }, '(no filter: every subscription)'),
      ...(route?.filters ?? []).map((filter) => h('option', { value: filter.name }, filter.name)),
    ]);
    eventIdRow.hidden = route?.history !== false;
    if (fillData && (!dataEdited || data.value.trim() === '')) {
      data.value = route?.lastData ?? '{}';
      dataEdited = false;
    }
    showFields();
  }

  function showFields(values: readonly FilterFieldView[] = []): void {
    const filter = currentRoute()?.filters.find((candidate) => candidate.name === filterSelect.value);
    const inputs = filter ? [...filter.ctx.map((field) => ['ctx', field] as const), ...filter.input.map((field) => ['input', field] as const)] : [];
    replaceChildren(fields, inputs.map(([group, field]) => {
      const given = values.find((value) => value.group === group && value.field === field)?.value;
      const text = given === undefined || (given !== null && typeof given === 'object') ? '' : typeof given === 'string' ? given : JSON.stringify(given);
      return h('label', { className: 'row' }, h('span', {}, `${group}.${field}`),
        h('input', { 'data-group': group, 'data-field': field, 'data-testid': `field-${group}-${field}`, 'value': text, 'placeholder': 'leave empty to match any' }));
    }));
  }

  /** The filter from the fields: a leading prefix of them (the publisher says which are missing). */
  function filterArgs(): PublishRequest['filter'] {
    if (!filterSelect.value) return undefined;
    const ctx: Record<string, string | number | boolean | null> = {};
    const input: Record<string, string | number | boolean | null> = {};
    fields.querySelectorAll('input').forEach((element) => {
      if (element.value !== '') (element.dataset.group === 'ctx' ? ctx : input)[element.dataset.field!] = fieldValue(element.value);
    });
    return { name: filterSelect.value, ...(Object.keys(ctx).length ? { ctx } : {}), ...(Object.keys(input).length ? { input } : {}) };
  }

  function show(answer: ActionResponse, what: string): void {
    result.className = `action-result ${answer.ok ? 'ok' : 'error'}`;
    if (!answer.ok) {
      result.textContent = answer.error;
      return;
    }
    result.textContent = describeResult(what, answer.result);
  }

  async function send(action: 'publish' | 'enqueue' | 'stop'): Promise<void> {
    const path = routeSelect.value;
    if (!path) return;
    const selected = filterArgs();
    if (action === 'stop') {
      show(await act('stop', { path, ...(selected ? { filter: selected } : {}) }), 'Stopped');
      return;
    }
    const id = eventIdRow.hidden || eventId.value === '' ? undefined : eventId.value;
    const body: PublishRequest = { path, data: data.value, ...(selected ? { filter: selected } : {}), ...(id ? { id } : {}) };
    show(await act(action, body), action === 'publish' ? 'Published' : 'Enqueued');
  }

  const element = h('form', {
    'className': 'publish',
    'data-testid': 'publish-form',
    'onSubmit': (event: Event) => {
      event.preventDefault();
      void send('publish');
    },
  },
  h('label', { className: 'row' }, h('span', {}, 'route'), routeSelect),
  h('label', { className: 'row' }, h('span', {}, 'filter'), filterSelect),
  fields,
  h('label', { className: 'row top' }, h('span', {}, 'data'), data),
  eventIdRow,
  h('div', { className: 'buttons' },
    h('button', { 'type': 'submit', 'className': 'primary', 'data-testid': 'publish' }, 'Publish'),
    enqueueButton,
    h('button', { 'type': 'button', 'className': 'danger', 'data-testid': 'stop', 'onClick': () => void send('stop') }, 'Stop matching')),
  result);

  return {
    element,
    update(view) {
      enqueueButton.hidden = view.queue === undefined;
      const next = view.routes ?? [];
      const changed = next.map((route) => route.path).join('\n') !== routes.map((route) => route.path).join('\n');
      routes = next;
      if (changed) {
        const selected = routeSelect.value;
        replaceChildren(routeSelect, routes.map((route) => h('option', { value: route.path }, route.path)));
        if (routes.some((route) => route.path === selected)) routeSelect.value = selected;
        showRoute(true);
      } else if (!dataEdited && data.value === '{}' && currentRoute()?.lastData) {
        data.value = currentRoute()!.lastData!;
      }
    },
    select(path, selectedFilter) {
      if (!routes.some((route) => route.path === path)) return;
      if (routeSelect.value !== path) {
        routeSelect.value = path;
        showRoute(true);
      }
      filterSelect.value = selectedFilter?.name ?? '';
      showFields(selectedFilter?.values ?? []);
      element.scrollIntoView({ block: 'nearest' });
    },
  };
}

/** How long the outcome of a connection action stays up (the page shows its effect anyway). */
const CONNECTION_RESULT_MS = 8000;

/** Shows messages of actions started outside the form (reconnect, disconnect), for a few seconds. */
export function showIn(element: HTMLElement): (text: string, ok: boolean) => void {
  return (text, ok) => {
    element.className = `action-result ${ok ? 'ok' : 'error'}`;
    element.textContent = text;
    setTimeout(() => {
      if (element.textContent === text) element.textContent = '';
    }, CONNECTION_RESULT_MS);
  };
}
