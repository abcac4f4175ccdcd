// Words the simulator "generates". Each emitted token is one of these with a leading space, or a
// punctuation mark, so counting emitted pieces gives a real completion token count.
export const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her she there been one all we their has would when if so no what up said out about into than them can ' +
  'only other new some could time these two may then do first any my now such like our over man me even most made ' +
  'after also did many before must through back years where much your way well down should because each just those ' +
  'people how too little state good very make world still own see men work long get here between both life being under ' +
  'never day same another know while last might us great old year off come since against go came right used take three ' +
  'model token engine latency stream request gateway batch cache prefill decode queue adapter router'
).split(' ');

export const PUNCTUATION = ['.', ',', '.', ';'];
