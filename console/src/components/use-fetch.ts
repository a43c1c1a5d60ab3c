import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../api.js';

/** GETs `url` (again whenever it changes); `reload()` refetches; stale answers are dropped. */
export function useFetch<T>(url: string | undefined): { data: T | undefined; error: string; loading: boolean; reload: () => Promise<void> } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(!!url);
  const seq = useRef(0);
  const reload = useCallback(async () => {
    if (!url) return;
    const n = ++seq.current;
    setLoading(true);
    try {
      const d = await get<T>(url);
      if (n === seq.current) { setData(d); setError(''); }
    } catch (err) {
      if (n === seq.current) setError((err as Error).message);
    } finally {
      if (n === seq.current) setLoading(false);
    }
  }, [url]);
  useEffect(() => { void reload(); }, [reload]);
  return { data, error, loading, reload };
}
