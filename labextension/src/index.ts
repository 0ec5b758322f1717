/**
 * jupyterhub-saturn in JupyterLab: the time left before this server's auto-shutoff in the
 * status bar, a notification before it, and (for anonymous "Run this copy" servers) a
 * "Sign in to keep this copy" link.
 *
 * The numbers come from the hub's read-only `saturn/time-left` page (cookie auth, the
 * signed-in user's own server only): the same computation as `/hub/api/saturn/shutoff`.
 * On a hub with `subdomain_host` the server has an origin of its own: the page is then asked
 * on the hub's origin (`hubHost`), which answers CORS to this user's server origin only.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

/** One server's shutoff status, as the hub computes it. */
export interface IShutoffStatus {
  managed: boolean;
  auto_shutoff: string | null;
  seconds_left: number | null;
  stop_at: string | null;
  reason: string | null;
  warn_before: number;
}

/** The hub's answer. */
export interface ITimeLeft {
  user: string;
  server: string;
  status: IShutoffStatus | null;
  throwaway: boolean;
}

/** `754` -> `"12m 34s"`, `4000` -> `"1h 06m"`. */
export function formatLeft(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  s = s % 60;
  if (h) {
    return `${h}h ${m < 10 ? '0' : ''}${m}m`;
  }
  if (m) {
    return `${m}m ${s < 10 ? '0' : ''}${s}s`;
  }
  return `${s}s`;
}

/** The sentence for the status bar's tooltip and the warning. */
export function describe(status: IShutoffStatus, left: number): string {
  const why =
    status.reason === 'max-age'
      ? 'because it reached its maximum age'
      : 'if it stays idle (any activity in JupyterLab pushes this back)';
  return `This server shuts down in ${formatLeft(left)} ${why}. Save your work.`;
}

class TimeLeftItem extends Widget {
  readonly text: HTMLSpanElement;
  readonly keep: HTMLAnchorElement;

  constructor(keepUrl: () => string) {
    super();
    this.addClass('jp-saturn-time-left');
    this.id = 'jp-saturn-time-left';
    this.text = document.createElement('span');
    this.text.className = 'jp-saturn-time-left-text';
    this.keep = document.createElement('a');
    this.keep.className = 'jp-saturn-keep';
    this.keep.textContent = 'Sign in to keep this copy';
    this.keep.hidden = true;
    this.keep.href = '#';
    this.keep.addEventListener('click', event => {
      event.preventDefault();
      window.location.assign(keepUrl());
    });
    this.node.appendChild(this.text);
    this.node.appendChild(this.keep);
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterhub-saturn:time-left',
  description: 'Time left before auto-shutoff, a warning before it, and keeping an anonymous copy.',
  autoStart: true,
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, statusBar: IStatusBar | null) => {
    const hubPrefix = PageConfig.getOption('hubPrefix');
    if (!hubPrefix) {
      return; // not running under JupyterHub
    }
    const server = PageConfig.getOption('hubServerName') || '';
    // '' when the server shares the hub's origin; the hub's origin under subdomain_host
    const hubHost = PageConfig.getOption('hubHost') || '';
    // the server's owner: a guest of a shared server sees the owner's time left and warning too
    // (hubUser is whoever is signed in, the guest; hubServerUser the server's owner)
    const owner = serverOwner();
    const url = hubHost + URLExt.join(hubPrefix, 'saturn/time-left') + '?server=' + encodeURIComponent(server) +
      (owner ? '&user=' + encodeURIComponent(owner) : '');

    const keepUrl = (): string => {
      const widget = app.shell.currentWidget as any;
      const path: string = (widget && widget.context && widget.context.path) || '';
      return hubHost + URLExt.join(hubPrefix, 'saturn/keep') + '?path=' + encodeURIComponent(path);
    };
    const keepCopy = async (): Promise<void> => {
      const widget = app.shell.currentWidget as any;
      if (widget && widget.context && widget.context.save) {
        await widget.context.save(); // keep the copy as edited
      }
      window.location.assign(keepUrl());
    };
    const item = new TimeLeftItem(keepUrl);
    item.keep.addEventListener('click', event => {
      event.stopImmediatePropagation();
      void keepCopy();
    }, true);
    if (statusBar) {
      statusBar.registerStatusItem('jupyterhub-saturn:time-left', {
        item,
        align: 'left',
        rank: 1000
      });
    }

    let state: ITimeLeft | null = null;
    let fetchedAt = 0;
    let warnedFor: string | null = null;

    const render = (): void => {
      const status = state && state.status;
      item.keep.hidden = !(state && state.throwaway);
      if (!status || status.seconds_left === null || status.seconds_left === undefined) {
        item.text.textContent = status && !status.managed ? '' : '';
        item.node.title = '';
        item.removeClass('jp-saturn-warn');
        return;
      }
      const left = status.seconds_left - (Date.now() - fetchedAt) / 1000;
      item.text.textContent = `Shuts off in ${formatLeft(left)}`;
      item.node.title = describe(status, left);
      const warn = status.warn_before > 0 && left <= status.warn_before;
      item.toggleClass('jp-saturn-warn', warn);
      if (warn && warnedFor !== status.stop_at && left > 0) {
        warnedFor = status.stop_at;
        const actions =
          state && state.throwaway
            ? [{ label: 'Sign in to keep this copy', callback: () => void keepCopy() }]
            : [];
        Notification.warning(describe(status, left), { autoClose: false, actions });
      }
    };

    const poll = async (): Promise<void> => {
      try {
        const response = await fetch(url, {
          credentials: hubHost ? 'include' : 'same-origin',
          headers: { Accept: 'application/json' }
        });
        if (response.ok) {
          state = (await response.json()) as ITimeLeft;
          fetchedAt = Date.now();
          render();
        }
      } catch (reason) {
        console.debug('jupyterhub-saturn: time left unavailable', reason);
      }
    };

    void poll();
    window.setInterval(() => void poll(), 15000);
    window.setInterval(render, 1000);
  }
};

/** The server's owner: JupyterHub's hubServerUser (hubUser is the signed-in person, a guest on a shared server). */
export function serverOwner(): string {
  return PageConfig.getOption('hubServerUser') || PageConfig.getOption('hubUser') || '';
}

/** The hub's sharing page for this server (the page itself refuses anyone but the owner). */
export function shareUrl(hubPrefix: string, owner: string, server: string): string {
  return (
    URLExt.join(hubPrefix, 'saturn/share') +
    '?server=' + encodeURIComponent(server) + '&owner=' + encodeURIComponent(owner)
  );
}

/** "Share this server…": a command (palette) and a button in the top bar opening the hub's sharing page. */
const share: JupyterFrontEndPlugin<void> = {
  id: 'jupyterhub-saturn:share',
  description: 'Share this server: opens the hub\'s sharing page (links, people, revoke).',
  autoStart: true,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null) => {
    const hubPrefix = PageConfig.getOption('hubPrefix');
    const owner = serverOwner();
    if (!hubPrefix || !owner || owner.toLowerCase().startsWith('anon~')) {
      return; // not under JupyterHub, or a temporary server (never shared)
    }
    const url = shareUrl(hubPrefix, owner, PageConfig.getOption('hubServerName') || '');
    app.commands.addCommand('saturn:share', {
      label: 'Share this server…',
      caption: 'Invite others into this server to edit notebooks together, live',
      execute: () => {
        window.open(url, '_blank', 'noopener');
      }
    });
    if (palette) {
      palette.addItem({ command: 'saturn:share', category: 'JupyterHub' });
    }
    const button = new Widget();
    button.id = 'jp-saturn-share';
    button.addClass('jp-saturn-share');
    const anchor = document.createElement('a');
    anchor.textContent = 'Share';
    anchor.href = url;
    anchor.target = '_blank';
    anchor.rel = 'noopener';
    anchor.title = 'Invite others into this server to edit notebooks together, live';
    button.node.appendChild(anchor);
    app.shell.add(button, 'top', { rank: 1000 });
  }
};

export default [plugin, share];
