import { CtlError, ExitCode } from './exit';
import type { Output } from './output';
import type { Printer } from './printer';
import { FieldsPrinter } from './printer-fields';
import { JsonPrinter } from './printer-json';
import { SimplePrinter } from './printer-simple';
import { TablePrinter } from './printer-table';

/** The printer for `-w <format>`; an unknown format is refused as etcdctl does (exit 4). */
export function newPrinter(format: string, isHex: boolean, o: Output): Printer {
  switch (format) {
    case 'simple':
      return new SimplePrinter(o, isHex);
    case 'json':
      return new JsonPrinter(o);
    case 'fields':
      return new FieldsPrinter(o);
    case 'table':
      return new TablePrinter(o);
    default:
      throw new CtlError(ExitCode.BadFeature, 'unsupported output format');
  }
}
