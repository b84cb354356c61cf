namespace SmartCity.Simulators.Physics;

/// <summary>
/// A tiny counter-based random generator (SplitMix64). A value type seeded from (scenario seed,
/// device, reading, purpose), so that every reading of every device can be recomputed alone: no
/// shared generator whose draw order would make the stream depend on publishing concurrency, and
/// no allocation per message (System.Random allocates a 56-int table per seeded instance).
/// </summary>
public struct DeterministicRandom
{
    private ulong _state;

    public DeterministicRandom(int seed, long a, long b = 0, long c = 0)
    {
        _state = Mix((ulong)(uint)seed ^ 0x9E3779B97F4A7C15UL);
        _state = Mix(_state ^ (ulong)a);
        _state = Mix(_state ^ (ulong)b);
        _state = Mix(_state ^ (ulong)c);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [min, max).</summary>
    public int NextInt(int min, int max) => min + (int)(Next() % (ulong)Math.Max(1, max - min));

    /// <summary>Standard normal (Box-Muller), for sensor noise.</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Poisson-distributed count with mean <paramref name="mean"/> (Knuth; means here are small).</summary>
    public int NextPoisson(double mean)
    {
        var limit = Math.Exp(-mean);
        var k = 0;
        var p = NextDouble();
        while (p > limit && k < 1000)
        {
            k++;
            p *= NextDouble();
        }

        return k;
    }

    public bool Chance(double probability) => NextDouble() < probability;

    private ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
